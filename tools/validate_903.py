"""Run DfE's SSDA903 validation rules (csc-validator-be-903) on SSDA903 CSV folders.

Runs ONLY in the validator's own environment (.venv-validator, built by tools/validate_903.sh):
the validator pins pandas<2 and numpy<1.25, so it must never be imported from the project's venv.
This script therefore does not import `rap`; it reads the LA lookup CSV directly.

Two modes:
  tree mode (default)  <root>/<year>/<old_la_code>/*.csv, e.g. data/synthetic/ssda903
  folder mode          --folder DIR [--year YYYY] [--prev-folder DIR] [--la-code E0...]

For every folder it runs the rule pack of that collection year (year named by its end: 2024 = 2023/24),
passing the same LA's previous-year folder as "Prev year" data when it exists (rules 204, 205A-D, 503*...).
Writes, under --out:
  errors.csv    one row per year, LA, rule, table and child: rows (data line numbers in the CSV) and count
  summary.csv   one row per rule: LAs affected, rows, children affected, share of children
  summary.md    the same as a Markdown table, plus rules that crashed or were skipped and folders that failed
  run.json      what was run (validator version, rule packs, folders, timings)

Exit status: 0 when the validator ran (findings are data, not failures); 1 when some folder could not
be validated (unreadable or unrecognised files); 2 when nothing could be run (bad arguments, no data,
validator not importable).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import re
import sys
import time
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LA_LOOKUP = REPO / "src" / "rap" / "data" / "local_authorities.csv"
DEFAULT_ROOT = "data/synthetic/ssda903"
DEFAULT_OUT = "outputs/validation-903"
SAMPLE_SEED = 903


# --------------------------------------------------------------------------------------------------
# validator import (quiet)


def _import_validator():
    """Import lac_validator with its INFO logging and pandas warnings silenced."""
    warnings.filterwarnings("ignore")
    root = logging.getLogger()
    import lac_validator.lac_validator as lv  # noqa: F401  (calls logging.basicConfig(INFO))
    from lac_validator.config import column_names  # noqa: F401

    root.setLevel(logging.WARNING)
    for h in list(root.handlers):
        h.setLevel(logging.WARNING)
    # rule crashes are collected from LacValidator.fails instead of printed as tracebacks
    logging.getLogger("lac_validator").setLevel(logging.CRITICAL)
    return lv


def validator_version() -> str:
    try:
        from importlib.metadata import version

        return version("csc-validator-be-903")
    except Exception:  # pragma: no cover
        return "unknown"


def available_rulesets() -> dict[int, str]:
    """Collection year (end year) -> rule pack module name, e.g. 2024 -> lac2023_24."""
    import lac_validator.rules as rules_pkg

    out = {}
    for base in list(rules_pkg.__path__):  # a namespace package: no __file__
        for p in Path(base).iterdir():
            m = re.fullmatch(r"lac(\d{4})_(\d{2})", p.name)
            if p.is_dir() and m:
                out[int(m.group(1)) + 1] = p.name
    return dict(sorted(out.items()))


def pick_ruleset(year: int, forced: str | None = None) -> tuple[str, bool]:
    """Rule pack for a collection year; (name, exact). Falls back to the nearest pack if none exists."""
    packs = available_rulesets()
    if forced:
        if forced not in packs.values():
            raise SystemExit(f"error: unknown rule pack {forced!r}; available: {', '.join(packs.values())}")
        return forced, forced == packs.get(year)
    if year in packs:
        return packs[year], True
    nearest = min(packs, key=lambda y: (abs(y - year), y))
    return packs[nearest], False


# --------------------------------------------------------------------------------------------------
# files


def _read_bytes(path: Path) -> bytes:
    b = path.read_bytes()
    if b.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark would spoil the first column name
        b = b[3:]
    return b


def classify_csvs(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Table name -> file, recognised by exact column set as the validator does. Returns (tables, notes)."""
    from lac_validator.config import column_names

    tables: dict[str, Path] = {}
    notes: list[str] = []
    for path in sorted(folder.glob("*.csv")) + sorted(folder.glob("*.CSV")):
        head = _read_bytes(path).split(b"\n", 1)[0].decode("utf-8", errors="replace").strip().strip("\r")
        cols = {c.strip().strip('"').upper() for c in next(csv.reader([head]), [])}
        match = [t for t, expected in column_names.items() if set(expected) == cols]
        if not match:
            notes.append(f"{path.name}: columns match no SSDA903 table, not validated")
            continue
        if match[0] in tables:
            notes.append(f"{path.name}: second {match[0]} file, ignored")
            continue
        tables[match[0]] = path
    return tables, notes


def uploaded(tables: dict[str, Path], description: str) -> list[dict]:
    return [{"name": str(p), "description": description, "file_content": _read_bytes(p)} for p in tables.values()]


def la_lookup() -> dict[str, str]:
    """old_la_code -> new_la_code (E06..., the form the validator compares placement LAs with)."""
    if not LA_LOOKUP.is_file():
        return {}
    with LA_LOOKUP.open(newline="", encoding="utf-8") as f:
        return {r["old_la_code"].strip(): r["new_la_code"].strip() for r in csv.DictReader(f)}


def count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def header_children(path: Path) -> set[str]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return {(r.get("CHILD") or "").strip().upper() for r in csv.DictReader(f)}


# --------------------------------------------------------------------------------------------------
# one folder


def validate_folder(job: dict) -> dict:
    """Validate one folder. Runs in a worker process; returns plain data."""
    t0 = time.perf_counter()
    out = {
        "year": job["year"],
        "la": job["la"],
        "folder": job["folder"],
        "prev_folder": job.get("prev_folder"),
        "ruleset": None,
        "ruleset_exact": None,
        "errors": [],
        "fails": [],
        "skips": [],
        "notes": [],
        "children": [],
        "problem": None,
        "seconds": 0.0,
    }
    try:
        lv = _import_validator()
        import importlib

        from lac_validator.rules.ruleset_utils import get_year_ruleset  # noqa: F401

        ruleset, exact = pick_ruleset(job["year"], job.get("ruleset"))
        out["ruleset"], out["ruleset_exact"] = ruleset, exact
        if not exact:
            out["notes"].append(f"no rule pack for collection year {job['year']}; used {ruleset} (nearest available)")
        registry = importlib.import_module(f"lac_validator.rules.{ruleset}").registry
        if job.get("rules"):
            registry = {k: v for k, v in registry.items() if k in set(job["rules"])}

        folder = Path(job["folder"])
        tables, notes = classify_csvs(folder)
        out["notes"] += notes
        if not tables:
            out["problem"] = f"{folder}: no SSDA903 CSV file recognised"
            return out
        if "Header" in tables:
            out["children"] = sorted(header_children(tables["Header"]))
            if not out["children"]:
                # the validator cannot run on empty tables (pandas raises); an LA with no children
                # looked after in the year is not a finding
                out["notes"].append(f"{job['year']}/{job['la']}: Header has no rows, folder not validated")
                return out
        files = uploaded(tables, "This year")
        if job.get("prev_folder"):
            prev_tables, prev_notes = classify_csvs(Path(job["prev_folder"]))
            out["notes"] += [f"prev year {n}" for n in prev_notes]
            files += uploaded(prev_tables, "Prev year")

        metadata = {"collectionYear": str(job["year"]), "localAuthority": job["la_code"]}
        v = lv.LacValidator(metadata=metadata, files=files, registry=registry)
        out["fails"] = sorted(v.fails)
        out["skips"] = sorted(v.skips)

        for table, df in v.ds_results.items():
            if table == "metadata" or table.endswith("_last"):
                continue
            err_cols = [c for c in df.columns if str(c).startswith("ERR_")]
            file_name = tables[table].name if table in tables else ""
            for col in err_cols:
                hit = df[col].fillna(False).astype(bool)
                if not hit.any():
                    continue
                code = col[4:]
                rule = registry.get(code)
                sub = df.loc[hit, ["CHILD"]].copy()
                sub["line"] = [int(i) + 2 for i in sub.index]  # data line in the CSV (line 1 = header)
                for child, grp in sub.groupby(sub["CHILD"].astype(str), sort=True):
                    lines = sorted(grp["line"].tolist())
                    out["errors"].append(
                        {
                            "year": job["year"],
                            "la": job["la"],
                            "ruleset": ruleset,
                            "rule_code": code,
                            "rule_description": (rule.message if rule else "") or "",
                            "table": table,
                            "file": file_name,
                            "child": child,
                            "rows": ";".join(str(x) for x in lines),
                            "count": len(lines),
                        }
                    )
    except Exception as e:  # a folder the validator could not read
        out["problem"] = f"{job['folder']}: {type(e).__name__}: {e}"
    finally:
        out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


# --------------------------------------------------------------------------------------------------
# planning


def plan_tree(args, lookup) -> list[dict]:
    root = Path(args.root)
    if not root.is_dir():
        raise SystemExit(f"error: data root {root} does not exist (run `make synth` first?)")
    years_present = sorted(int(p.name) for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name))
    if not years_present:
        raise SystemExit(f"error: no <year>/ folders under {root}")
    years = sorted(set(args.years)) if args.years else years_present
    missing = [y for y in years if y not in years_present]
    if missing:
        raise SystemExit(f"error: year(s) {missing} not under {root}; present: {years_present}")

    las_present = sorted({p.name for y in years for p in (root / str(y)).iterdir() if p.is_dir()})
    if args.las:
        las = [la for la in args.las if la in las_present]
        unknown = sorted(set(args.las) - set(las_present))
        if unknown:
            raise SystemExit(f"error: LA folder(s) {unknown} not present for years {years}")
    else:
        las = las_present
    if args.sample and args.sample < len(las):
        las = sorted(random.Random(args.seed).sample(las, args.sample))

    jobs = []
    for y in years:
        for la in las:
            folder = root / str(y) / la
            if not folder.is_dir():
                continue
            prev = root / str(y - 1) / la
            jobs.append(
                {
                    "year": y,
                    "la": la,
                    "la_code": lookup.get(la, la),
                    "folder": str(folder),
                    "prev_folder": str(prev) if (prev.is_dir() and not args.no_prev) else None,
                    "ruleset": args.ruleset,
                    "rules": args.rules,
                }
            )
    return jobs


def infer_year(folder: Path) -> int:
    """Collection year of a folder: the year (ending 31 March) holding the latest episode start."""
    tables, _ = classify_csvs(folder)
    if "Episodes" not in tables:
        raise SystemExit(f"error: no Episodes file in {folder}; give --year")
    latest = None
    with tables["Episodes"].open(newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", (r.get("DECOM") or "").strip())
            if m:
                d = (int(m.group(3)), int(m.group(2)), int(m.group(1)))
                latest = max(latest, d) if latest else d
    if not latest:
        raise SystemExit(f"error: no DECOM date in {folder}; give --year")
    return latest[0] + 1 if latest[1] >= 4 else latest[0]


def plan_folder(args, lookup) -> list[dict]:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise SystemExit(f"error: folder {folder} does not exist")
    year = args.year or infer_year(folder)
    la = args.la or folder.name
    la_code = args.la_code or lookup.get(la, "E00000000")
    prev = args.prev_folder
    if prev and not Path(prev).is_dir():
        raise SystemExit(f"error: previous-year folder {prev} does not exist")
    return [
        {
            "year": year,
            "la": la,
            "la_code": la_code,
            "folder": str(folder),
            "prev_folder": prev,
            "ruleset": args.ruleset,
            "rules": args.rules,
        }
    ]


# --------------------------------------------------------------------------------------------------
# reporting


ERR_FIELDS = ["year", "la", "ruleset", "rule_code", "rule_description", "table", "file", "child", "rows", "count"]


def _code_key(code: str):
    m = re.match(r"(\d+)(.*)", code)
    return (0, int(m.group(1)), m.group(2)) if m else (1, 0, code)


def summarise(results: list[dict]) -> list[dict]:
    total_children = {(r["year"], r["la"]): set(r["children"]) for r in results if not r["problem"]}
    n_children = sum(len(s) for s in total_children.values())
    by_rule: dict[str, dict] = {}
    for r in results:
        for e in r["errors"]:
            s = by_rule.setdefault(
                e["rule_code"],
                {
                    "rule_code": e["rule_code"],
                    "rule_description": e["rule_description"],
                    "las": set(),
                    "rows": 0,
                    "children": set(),
                    "tables": set(),
                    "by_year": defaultdict(int),
                },
            )
            s["las"].add(e["la"])
            s["rows"] += e["count"]
            s["children"].add((e["year"], e["la"], e["child"]))
            s["tables"].add(e["table"])
            s["by_year"][e["year"]] += e["count"]
    rows = []
    for code in sorted(by_rule, key=_code_key):
        s = by_rule[code]
        rows.append(
            {
                "rule_code": code,
                "rule_description": s["rule_description"],
                "tables": ", ".join(sorted(s["tables"])),
                "las_affected": len(s["las"]),
                "rows": s["rows"],
                "children_affected": len(s["children"]),
                "share_of_children_pct": round(100 * len(s["children"]) / n_children, 3) if n_children else 0.0,
                "rows_by_year": "; ".join(f"{y}: {n}" for y, n in sorted(s["by_year"].items())),
            }
        )
    return rows


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def write_outputs(out_dir: Path, results: list[dict], meta: dict) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "errors.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=ERR_FIELDS)
        w.writeheader()
        for r in sorted(results, key=lambda r: (r["year"], r["la"])):
            for e in sorted(r["errors"], key=lambda e: (_code_key(e["rule_code"]), e["table"], e["child"])):
                w.writerow(e)
    summary = summarise(results)
    with (out_dir / "summary.csv").open("w", newline="", encoding="utf-8") as f:
        fields = [
            "rule_code",
            "rule_description",
            "tables",
            "las_affected",
            "rows",
            "children_affected",
            "share_of_children_pct",
            "rows_by_year",
        ]
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(summary)

    ok = [r for r in results if not r["problem"]]
    n_children = sum(len(set(r["children"])) for r in ok)
    lines = [
        "# SSDA903 validation summary",
        "",
        f"- validator: csc-validator-be-903 {meta['validator_version']}",
        f"- rule packs: {', '.join(f'{y} -> {p}' for y, p in meta['rulesets'].items())}",
        f"- folders validated: {sum(1 for r in ok if r['children'])} of {len(results)} "
        f"(empty LAs skipped: {sum(1 for r in ok if not r['children'])}) "
        f"({len(meta['years'])} year(s): {', '.join(map(str, meta['years']))}; "
        f"{len(meta['las'])} LA(s){' sampled' if meta.get('sample') else ''})",
        f"- folders with previous-year data: {sum(1 for r in ok if r['prev_folder'])}",
        f"- children (Header CHILD, summed over folders): {n_children}",
        f"- run time: {meta['seconds']:.1f} s",
        "",
        "| rule | description | LAs affected | rows | children | share of children | rows by year |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['rule_code']} | {_md_escape(s['rule_description'])} | {s['las_affected']} | {s['rows']} | "
            f"{s['children_affected']} | {s['share_of_children_pct']:.3f}% | {s['rows_by_year']} |"
        )
    if not summary:
        lines.append("| (none) | no rule fired | 0 | 0 | 0 | 0% | |")

    fails = defaultdict(set)
    for r in ok:
        for c in r["fails"]:
            fails[c].add(f"{r['year']}/{r['la']}")
    if fails:
        lines += ["", "## Rules that crashed inside the validator (not findings)", ""]
        for c in sorted(fails, key=_code_key):
            lines.append(f"- {c}: {len(fails[c])} folder(s), e.g. {sorted(fails[c])[0]}")
    skips = defaultdict(int)
    for r in ok:
        for c in r["skips"]:
            skips[c] += 1
    if skips:
        lines += ["", "## Rules skipped for lack of a table (e.g. no previous year, no AD1, no Ofsted URN lists)", ""]
        lines.append(", ".join(f"{c} ({n})" for c, n in sorted(skips.items(), key=lambda kv: _code_key(kv[0]))))
    notes = sorted({n for r in results for n in r["notes"]})
    if notes:
        lines += ["", "## Notes", ""] + [f"- {_md_escape(n)}" for n in notes[:50]]
    problems = [r["problem"] for r in results if r["problem"]]
    if problems:
        lines += ["", "## Folders that could not be validated", ""] + [f"- {_md_escape(p)}" for p in problems]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    run = dict(meta)
    run["folders"] = [
        {k: r[k] for k in ("year", "la", "folder", "prev_folder", "ruleset", "seconds", "problem", "fails")}
        | {"errors": sum(e["count"] for e in r["errors"]), "children": len(set(r["children"]))}
        for r in results
    ]
    (out_dir / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    return summary


# --------------------------------------------------------------------------------------------------
# main


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="validate_903",
        description="Run DfE's SSDA903 validator (csc-validator-be-903) on <root>/<year>/<la>/ folders "
        "or on one folder.",
    )
    p.add_argument("--root", default=DEFAULT_ROOT, help=f"data root with <year>/<la>/ folders (default {DEFAULT_ROOT})")
    p.add_argument(
        "--years", type=int, nargs="+", help="collection years (end year, 2024 = 2023/24); default all present"
    )
    p.add_argument("--las", nargs="+", help="LA folders (old_la_code); default all present")
    p.add_argument("--sample", type=int, metavar="N", help="validate a deterministic subset of N LAs")
    p.add_argument("--seed", type=int, default=SAMPLE_SEED, help=f"seed for --sample (default {SAMPLE_SEED})")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--folder", help="single-folder mode: validate the SSDA903 CSVs in this folder")
    p.add_argument("--prev-folder", help="single-folder mode: previous year's CSVs (rules 204, 205*, 503*...)")
    p.add_argument("--year", type=int, help="single-folder mode: collection year; default inferred from DECOM")
    p.add_argument("--la", help="single-folder mode: LA label for the output (default folder name)")
    p.add_argument("--la-code", help="LA code (E06000001 style) the validator compares placement LAs with")
    p.add_argument("--ruleset", help="force a rule pack, e.g. lac2023_24 (default: the collection year's)")
    p.add_argument("--rules", nargs="+", help="run only these rule codes")
    p.add_argument("--no-prev", action="store_true", help="do not pass previous-year folders")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default 2)")
    p.add_argument("--list-rulesets", action="store_true", help="print the rule packs and exit")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        _import_validator()
    except Exception as e:
        print(f"error: cannot import lac_validator ({e}); run through tools/validate_903.sh", file=sys.stderr)
        return 2
    if args.list_rulesets:
        for y, name in available_rulesets().items():
            print(f"{y}\t{name}")
        return 0

    lookup = la_lookup()
    try:
        jobs = plan_folder(args, lookup) if args.folder else plan_tree(args, lookup)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    if not jobs:
        print("error: nothing to validate", file=sys.stderr)
        return 2

    years = sorted({j["year"] for j in jobs})
    las = sorted({j["la"] for j in jobs})
    rulesets = {y: pick_ruleset(y, args.ruleset)[0] for y in years}
    print(
        f"validate_903: csc-validator-be-903 {validator_version()}: {len(jobs)} folder(s), "
        f"years {', '.join(map(str, years))}, {len(las)} LA(s), {args.jobs} worker(s)",
        flush=True,
    )
    for y, name in rulesets.items():
        if not pick_ruleset(y, args.ruleset)[1]:
            print(f"  note: no rule pack for {y}; using {name}", flush=True)

    results = []
    if args.jobs > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as ex:
            for i, r in enumerate(ex.map(validate_folder, jobs), 1):
                results.append(r)
                _progress(i, len(jobs), r, t0)
    else:
        for i, job in enumerate(jobs, 1):
            r = validate_folder(job)
            results.append(r)
            _progress(i, len(jobs), r, t0)

    seconds = time.perf_counter() - t0
    meta = {
        "validator_version": validator_version(),
        "mode": "folder" if args.folder else "tree",
        "root": args.folder or args.root,
        "years": years,
        "las": las,
        "sample": args.sample,
        "seed": args.seed if args.sample else None,
        "rulesets": rulesets,
        "seconds": round(seconds, 1),
    }
    out_dir = Path(args.out)
    summary = write_outputs(out_dir, results, meta)
    problems = [r for r in results if r["problem"]]
    n_err = sum(e["count"] for r in results for e in r["errors"])
    print(
        f"validate_903: {sum(1 for r in results if r['children'] and not r['problem'])} of {len(results)} "
        f"folder(s) validated in {seconds:.1f} s "
        f"(mean {sum(r['seconds'] for r in results) / len(results):.1f} s per folder); "
        f"{len(summary)} rule(s) fired, {n_err} flagged row(s)",
        flush=True,
    )
    print(f"validate_903: wrote {out_dir}/summary.md, summary.csv, errors.csv, run.json", flush=True)
    for s in summary[:40]:
        print(
            f"  {s['rule_code']:>6}  {s['rows']:>7} rows  {s['las_affected']:>4} LAs  "
            f"{s['share_of_children_pct']:7.3f}%  {s['rule_description'][:70]}"
        )
    if len(summary) > 40:
        print(f"  ... {len(summary) - 40} more in summary.md")
    for r in problems:
        print(f"  could not validate {r['problem']}", file=sys.stderr)
    return 1 if problems else 0


def _progress(i: int, n: int, r: dict, t0: float) -> None:
    status = "FAILED" if r["problem"] else f"{sum(e['count'] for e in r['errors'])} flagged rows"
    if n <= 20 or i % 10 == 0 or i == n or r["problem"]:
        print(
            f"  [{i}/{n}] {r['year']}/{r['la']}: {status} ({r['seconds']:.1f} s; elapsed "
            f"{time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
