"""The attacker as a command: ``rap audit-disclosure DIR`` and ``python -m rap.audit DIR`` share this.

Exit 0 when nothing hidden comes back, 1 when something does (or the attacker could not decide every cell),
2 on bad input, with one line naming the file. Printed figures and the JSON name cells, never their values.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rap.core.errors import RapError

EXIT_RECOVERED, EXIT_BAD_INPUT = 1, 2


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The command's arguments, on either parser."""
    ap.add_argument("folder", type=Path, help="folder of published EES tables (*.csv with .meta.csv beside each)")
    ap.add_argument("--threshold", type=int, default=5, help="largest count primary suppression hides (default 5)")
    ap.add_argument("--rounding-base", type=int, default=10, help="national and regional rounding (default 10)")
    ap.add_argument("--relations", type=Path, help="a relations YAML to use instead of the package's own")
    ap.add_argument("--json", type=Path, help="write the figures (masked) to this JSON file")
    ap.add_argument("--lp-solves", type=int, help=argparse.SUPPRESS)  # default: rap.audit.attacks.LP_SOLVES


def _bad(message: str) -> int:
    print(f"rap audit-disclosure: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args: argparse.Namespace) -> int:
    """Attack the folder, print the figures, write the JSON; the exit code says what came back."""
    from rap.audit.attacks import audit_folder

    if args.threshold < 1 or args.rounding_base < 1:
        return _bad("--threshold and --rounding-base must be whole numbers of at least 1")
    try:
        limit = {} if args.lp_solves is None else {"lp_solves": args.lp_solves}
        report = audit_folder(args.folder, args.threshold, args.rounding_base, relations=args.relations, **limit)
    except RapError as exc:
        return _bad(str(exc))
    except OSError as exc:
        return _bad(f"{exc.filename or args.folder}: {exc.strerror or exc}")
    if report.skipped:  # a table the attacker cannot read would pass unattacked: not a pass
        return _bad(f"{args.folder}/{report.skipped[0]}")
    if not sum(report.cells.values()):
        return _bad(f"{args.folder}: no published table (*.csv with its .meta.csv) holds a count")
    print("\n".join(report.lines()))
    if args.json:
        try:
            args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            return _bad(f"{args.json}: cannot write the JSON report ({exc.strerror or exc})")
    return 0 if report.passed else EXIT_RECOVERED
