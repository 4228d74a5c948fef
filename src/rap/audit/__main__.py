"""``python -m rap.audit DIR``: attack a folder of published tables and print what comes back (masked)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rap.audit.attacks import audit_folder
from rap.core.errors import RapError


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when nothing hidden is recovered, 1 when something is, 2 on bad input."""
    ap = argparse.ArgumentParser(prog="python -m rap.audit", description=__doc__)
    ap.add_argument("folder", help="folder of published EES tables (*.csv with .meta.csv beside each)")
    ap.add_argument("--threshold", type=int, default=5, help="largest count primary suppression hides (default 5)")
    ap.add_argument("--rounding-base", type=int, default=10, help="national and regional rounding (default 10)")
    ap.add_argument("--relations", help="a relations YAML to use instead of the package's own")
    ap.add_argument("--json", help="write the figures (masked) to this JSON file")
    args = ap.parse_args(argv)
    try:
        report = audit_folder(args.folder, args.threshold, args.rounding_base, relations=args.relations)
    except RapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"error: {args.json}: cannot write the JSON report ({exc})", file=sys.stderr)
            return 2
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
