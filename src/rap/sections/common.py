"""Small helpers every section notebook uses, so the notebooks stay narrative plus calls."""

from __future__ import annotations

from pathlib import Path


def section_output(out_dir: str | Path) -> Path:
    """The section's output folder (created): the runner merges it into ``outputs/<year>/``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_summary(out: Path, section: str, lines: list[str]) -> Path:
    """Key findings for the report's front page: ``summary/<section>.md``, one bullet per line."""
    path = out / "summary" / f"{section}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"- {line}\n" for line in lines), encoding="utf-8")
    return path
