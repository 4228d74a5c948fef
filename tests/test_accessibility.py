"""The HTML report meets WCAG 2.2 AA, checked in a real browser.

The report built once on small synthetic data (the ``small_run`` fixture in conftest.py, shared with
tests/test_cli.py) is opened in headless Chromium (Debian package ``chromium``) by tests/a11y/check_page.js
(playwright-core driving the system Chromium), at 1280x900 and at 320x640 CSS px. There axe-core runs the
WCAG 2.0/2.1/2.2 A and AA rules (any violation fails; best-practice findings are only reported, as
warnings), and the script collects what the tests below assert: no page-wide horizontal scrolling at 320 px,
every table captioned with scoped header cells inside a labelled, focusable scroll region, alt text on every
image, ``lang`` and ``<title>``, headings that do not skip a level, one ``<main>``. Full-page screenshots at
both widths are saved in the test's tmp folder and, when ``RAP_A11Y_SCREENSHOTS`` names a folder, copied there.

``make test`` installs the tools first (``make a11y-tools``: tests/a11y/install_tools.sh); without them the
tests skip and say why (pytest's ``-ra`` prints the reason).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "a11y" / "check_page.js"
NODE_MODULES = Path(os.environ.get("RAP_NODE_MODULES", REPO / ".cache" / "node" / "node_modules"))
VIEWPORTS = {"desktop": 1280, "narrow-320": 320}
HOW = "run `make a11y-tools` (as root on Debian it installs Chromium too)"


def _tools() -> tuple[str, str] | str:
    """(chromium, node), or why they cannot be had."""
    chromium = os.environ.get("RAP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return f"Chromium not found (Debian package chromium; set RAP_CHROMIUM to use another): {HOW}"
    node = shutil.which("node")
    if not node:
        return f"Node.js not found: {HOW}"
    for pkg in ("axe-core", "playwright-core"):
        if not (NODE_MODULES / pkg / "package.json").is_file():
            return f"{pkg} is not installed in {NODE_MODULES}: {HOW}"
    return chromium, node


def _report_html(outputs: Path) -> Path:
    single = outputs / "report" / "cla-ethnicity-2024.html"  # the pandoc backend's one self-contained file
    return single if single.is_file() else outputs / "report" / "_book" / "index.html"  # Quarto's book


@pytest.fixture(scope="module")
def checked(request, tmp_path_factory) -> dict:
    """The check script's findings for the small report; skips when the tools cannot be had."""
    tools = _tools()
    if isinstance(tools, str):
        pytest.skip(f"accessibility test skipped: {tools}")
    chromium, node = tools
    html = _report_html(request.getfixturevalue("small_run"))
    assert html.is_file(), f"no rendered HTML report at {html}"
    shots = tmp_path_factory.mktemp("a11y-screenshots")
    start = time.perf_counter()
    proc = subprocess.run(
        [
            node,
            str(SCRIPT),
            "--html",
            str(html),
            "--out",
            str(shots),
            "--modules",
            str(NODE_MODULES),
            "--chromium",
            chromium,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode == 3:
        pytest.skip(f"accessibility test skipped: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, f"check_page.js failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout)
    result["seconds"] = time.perf_counter() - start
    result["by_name"] = {vp["name"]: vp for vp in result["viewports"]}
    keep = os.environ.get("RAP_A11Y_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for vp in result["viewports"]:
            shutil.copy2(vp["screenshot"], Path(keep) / Path(vp["screenshot"]).name)
    print(
        f"accessibility check: Chromium {result['browser']}, axe-core {result['viewports'][0]['axeVersion']}, "
        f"{result['seconds']:.0f} s; screenshots in {shots}" + (f" and {keep}" if keep else "")
    )
    return result


def _listing(found: list[dict], viewport: str) -> list[str]:
    lines = []
    for v in found:
        for node in v["nodes"]:
            lines.append(
                f"[{viewport}] {v['id']} ({v['impact']}): {v['help']} -- {node['target']}: "
                f"{node['summary']} ({v['helpUrl']})"
            )
    return lines


def violation_problems(result: dict) -> list[str]:
    """axe-core, WCAG 2.0/2.1/2.2 A and AA rules, at every width checked (best practice only warned)."""
    problems: list[str] = []
    for vp in result["viewports"]:
        problems += _listing(vp["violations"], vp["name"])
        for v in vp["bestPractice"]:  # reported, one warning per rule, not failed
            targets = ", ".join(n["target"] for n in v["nodes"][:3])
            warnings.warn(
                f"axe best practice [{vp['name']}] {v['id']} ({v['impact']}): {v['help']}: "
                f"{len(v['nodes'])} elements, e.g. {targets}",
                stacklevel=1,
            )
    return problems


def reflow_problems(facts: dict) -> list[str]:
    """WCAG 1.4.10: at 320 CSS px nothing scrolls the page sideways; a wide table scrolls in its own region."""
    problems = []
    if facts["innerWidth"] != 320:
        problems.append(f"viewport is {facts['innerWidth']} px, not 320")
    if facts["scrollWidth"] > facts["innerWidth"] + 1:
        problems.append(f"the page scrolls horizontally at 320 px (scrollWidth {facts['scrollWidth']})")
    problems += [f"wider than the screen: {o}" for o in facts["overflowing"]]
    return problems


def table_problems(facts: dict) -> list[str]:
    """Every table captioned, with scoped header cells, inside a focusable scroll region named by its caption."""
    bad = []
    for i, t in enumerate(facts["tables"], start=1):
        name = t["id"] or f"table {i} (no id)"
        if not t["caption"]:
            bad.append(f"{name}: no caption")
        if t["theadTh"] == 0:
            bad.append(f"{name}: no column header cells (<thead><th>)")
        if t["thWithoutScope"]:
            bad.append(f"{name}: {t['thWithoutScope']} <th> without scope")
        w = t["wrapper"] or {}
        if not (
            w.get("role") == "region"
            and w.get("tabindex") == "0"
            and w.get("label")
            and w.get("overflowX") in ("auto", "scroll")
        ):
            bad.append(f"{name}: not inside a focusable, labelled scroll region ({w})")
        elif t["caption"] and w["label"] != t["caption"]:
            bad.append(f"{name}: region label {w['label']!r} is not the caption {t['caption']!r}")
    return bad


def image_problems(facts: dict) -> list[str]:
    missing = [img["src"][:80] for img in facts["images"] if not (img["alt"] or "").strip()]
    return [f"{len(missing)} images without alt text: {missing}"] if missing else []


def language_problems(facts: dict) -> list[str]:
    problems = [] if (facts["lang"] or "").lower().startswith("en") else [f"lang is {facts['lang']!r}"]
    return problems + ([] if facts["title"].strip() else ["empty <title>"])


def heading_problems(facts: dict) -> list[str]:
    """The first heading is h1, none skips a level, one <main>, at least one <nav>."""
    levels = [h["level"] for h in facts["headings"]]
    problems = [] if levels and levels[0] == 1 else [f"the first heading is not h1: {facts['headings'][:1]}"]
    problems += [
        f"headings skip a level: h{a} -> h{b} ({h['text']!r})"
        for a, b, h in zip(levels, levels[1:], facts["headings"][1:])
        if b > a + 1
    ]
    if facts["landmarks"]["main"] != 1 or facts["landmarks"]["nav"] < 1:
        problems.append(f"landmarks: {facts['landmarks']}")
    return problems


def page_problems(result: dict) -> list[str]:
    """Every check above, for one page's result from check_page.js (also used for Quarto's book pages)."""
    by_name = {vp["name"]: vp for vp in result["viewports"]}
    desktop = by_name["desktop"]["facts"]
    return (
        violation_problems(result)
        + reflow_problems(by_name["narrow-320"]["facts"])
        + table_problems(desktop)
        + image_problems(desktop)
        + language_problems(desktop)
        + heading_problems(desktop)
    )


def test_no_wcag_violations(checked):
    problems = violation_problems(checked)
    assert not problems, f"{len(problems)} WCAG 2.2 AA violations:\n" + "\n".join(problems)


def test_reflow_at_320_px(checked):
    problems = reflow_problems(checked["by_name"]["narrow-320"]["facts"])
    assert not problems, "\n".join(problems)


def test_tables_have_captions_scoped_headers_and_a_scroll_region(checked):
    facts = checked["by_name"]["desktop"]["facts"]
    assert facts["tables"], "no tables found in the report"
    bad = table_problems(facts)
    assert not bad, "\n".join(bad)


def test_every_image_has_alt_text(checked):
    facts = checked["by_name"]["desktop"]["facts"]
    assert facts["images"], "no charts found in the report"
    assert not image_problems(facts)


def test_language_and_title(checked):
    assert not language_problems(checked["by_name"]["desktop"]["facts"])


def test_headings_in_order_and_landmarks(checked):
    problems = heading_problems(checked["by_name"]["desktop"]["facts"])
    assert not problems, "\n".join(problems)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_full_page_screenshots(checked):
    for name, width in VIEWPORTS.items():
        vp = checked["by_name"][name]
        shot = Path(vp["screenshot"])
        w, h = _png_size(shot)
        assert w == width, f"{shot.name}: {w} px wide, expected {width} (the page scrolls sideways?)"
        assert h >= vp["facts"]["scrollHeight"] - 1, f"{shot.name} is not the full page ({h} px high)"
