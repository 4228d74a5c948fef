"""The ``rap`` command. Thin: parse arguments, call the package, report in one short message.

Every known failure (bad parameters, bad input, a failed section, a full disk or an unreadable file) is printed
as one paragraph naming where the problem is, with a non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path

from rap.core.errors import RapError

EXIT_BAD_INPUT = 2


def _add_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", required=True, type=Path, help="a year's parameters file, e.g. params/2024.yaml")


def _cmd_synth(args: argparse.Namespace) -> int:
    from rap.core.params import load_params
    from rap.inputs.load import synthetic_target
    from rap.synth import generate

    overrides: dict = {}
    if args.scale or args.seed is not None:
        overrides["synth"] = {k: v for k, v in (("scale", args.scale), ("seed", args.seed)) if v is not None}
    params = load_params(args.params, **overrides)
    start = time.perf_counter()
    out = generate(params, out_dir=synthetic_target(params, args.out))
    print(
        f"Synthetic data for {params.series_years[0]}-{params.series_years[-1]} "
        f"({params.synth.scale} scale) written to {out} in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from rap.core.params import load_params
    from rap.inputs.check import check_inputs

    params = load_params(args.params)
    report = check_inputs(params, qa_dir=args.qa_dir)
    print(report.summary())
    return 0 if report.ok else EXIT_BAD_INPUT


def _notebooks_dir(args: argparse.Namespace) -> Path:
    """--notebooks, else ``notebooks/`` beside the params folder, else ``notebooks/`` here."""
    if args.notebooks:
        return args.notebooks
    beside = args.params.resolve().parent.parent / "notebooks"
    return beside if beside.is_dir() else Path("notebooks")


def _cmd_run(args: argparse.Namespace) -> int:
    from rap.build.pipeline import run
    from rap.build.runner import SectionFailed
    from rap.core.params import load_params

    params = load_params(args.params, **({"output_dir": str(args.out.resolve())} if args.out else {}))
    try:
        result = run(
            params,
            args.params,
            notebooks_dir=_notebooks_dir(args),
            sections=args.sections,
            workers=args.workers,
            use_cache=not args.no_cache,
            renderer=args.renderer,
            progress=sys.stdout.isatty(),
            render_report=not args.no_render,
        )
    except SectionFailed as exc:
        print(f"rap run: {exc}", file=sys.stderr)
        return 1
    print(
        f"rap run: {len(result.sections)} sections ({len(result.executed)} executed, {len(result.cache_hits)} from cache) "
        f"in {result.seconds:.1f} s; outputs in {result.out_dir}"
    )
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from rap.report import render

    outputs = render(args.report_dir, renderer=args.renderer)
    for fmt, path in sorted(outputs.items()):
        print(f"{fmt}: {path}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from rap.audit.command import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write realistic synthetic SSDA903, school and population data")
    _add_params(p)
    p.add_argument("--scale", choices=["national", "small"], help="override synth.scale")
    p.add_argument("--seed", type=int, help="override synth.seed")
    p.add_argument("--out", type=Path, help="output folder (default: data.path from the parameters)")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("check", help="validate parameters and inputs only; bad rows go to outputs/<year>.check/qa/")
    _add_params(p)
    p.add_argument("--qa-dir", type=Path, help="where rejected rows go (default: outputs/<year>.check/qa)")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("run", help="run the report's sections and render it into outputs/<year>/")
    _add_params(p)
    p.add_argument("--out", type=Path, help="outputs root (default: output_dir from the parameters)")
    p.add_argument("--sections", nargs="+", help="run only these sections (e.g. 01 data_availability)")
    p.add_argument(
        "--workers",
        type=int,
        help="processes at once: sections in parallel, and the spreadsheet beside the report "
        "when more than 1 (default: number of cores)",
    )
    p.add_argument("--no-cache", action="store_true", help="execute every section even if unchanged")
    p.add_argument(
        "--renderer",
        choices=["auto", "quarto", "pandoc"],
        default="auto",
        help="auto: quarto when on PATH, else pandoc + Typst",
    )
    p.add_argument("--no-render", action="store_true", help="run the sections but build no report")
    p.add_argument("--notebooks", type=Path, help="section notebooks folder (default: notebooks/)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("render", help="render an already built Quarto project (outputs/<year>/report)")
    p.add_argument("report_dir", type=Path)
    p.add_argument("--renderer", choices=["auto", "quarto", "pandoc"], default="auto")
    p.set_defaults(func=_cmd_render)

    from rap.audit.command import add_arguments

    p = sub.add_parser(
        "audit-disclosure",
        help="attack a folder of published tables as an outsider would; exit 1 if anything hidden comes back",
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_audit)
    return parser


def os_error_message(exc: OSError) -> str:
    """One paragraph for an error of the file system: the file, what went wrong and what to do."""
    where = exc.filename if exc.filename is not None else None
    if exc.errno == errno.ENOSPC:
        what = "no space left on the device: free some space and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        what = "permission denied: this user may not read it (or, for an output, write it)"
    elif exc.errno is None:  # raised with a message of our own (e.g. a published table without metadata)
        return str(exc)
    else:
        what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else what


def _skip_slow_optional_imports() -> None:
    """jsonschema (via nbformat) imports ``rfc3987_syntax`` when installed, to check one string format
    nbformat never uses; building its grammar costs ~1.6 s per start, most of an unchanged re-run. Marking it
    absent makes jsonschema skip that checker in this process only."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    _skip_slow_optional_imports()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RapError as exc:
        print(f"rap {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # the machine, not the code: a full disk, a file that cannot be read or written
        print(f"rap {args.command}: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"rap {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
