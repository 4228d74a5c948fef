"""``python -m rap.audit DIR``: attack a folder of published tables and print what comes back (masked)."""

from __future__ import annotations

import argparse
import sys

from rap.audit.command import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when nothing hidden is recovered, 1 when something is, 2 on bad input."""
    ap = argparse.ArgumentParser(prog="python -m rap.audit", description=__doc__)
    add_arguments(ap)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
