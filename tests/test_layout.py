"""The shape of the code (issue 13), kept by tests that name every offender when it is broken.

Everything is read from the files (``ast`` for Python, JSON for notebooks); nothing under test is imported.

The import graph holds every ``rap`` import, resolved to the module it names: ``from rap.x import y`` is an
edge to ``rap.x.y`` when that is a module, else to ``rap.x``; relative imports are resolved. Parent packages
are not added as edges (importing ``rap.x.y`` runs ``rap/x/__init__.py`` first, but counting that would turn
every package whose ``__init__`` imports its own modules into a circle). Two views of it are used:

* the layer rule counts every import wherever it stands (module level, inside a function, under
  ``if TYPE_CHECKING:``): a lazy or type-only import is still a dependency a reader has to follow;
* circles are looked for twice. Among module-level imports, the ones that run when a module is imported:
  a circle there can leave a module half-initialised, and whether it works depends on which module is
  imported first. And among all imports: a lazy or type-only import that closes a circle hides it from the
  first check, and issue 13's runner <-> manifest circle was exactly that (a lazy import one way, a
  type-only import the other).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = SRC / "rap"

#: The layers, lowest first: a module may import from its own layer or from layers to its left.
LAYERS = ["core", "domain", "audit", "synth", "inputs", "measures", "present", "sections", "report", "build", "cli"]
#: Importable from any layer: the package root (its version) and the package data.
ANYWHERE = {"rap", "rap.data"}
MAX_FLAT_MODULES = 8
MAX_FUNCTION_LINES = 60
MAX_KIND_FILES = 3
#: Defines ``data.kind`` (the field and its validation), so it may name the kinds.
KIND_EXEMPT = {"src/rap/core/params.py"}
SHARED_PATHS = ("../shared", "shared/reference")


# --------------------------------------------------------------------------------------------------
# reading the package


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported
    line: int
    module_level: bool  # runs when the importing module is imported (not in a function, not type-only)


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@cache
def modules() -> dict[str, Path]:
    """``rap.x.y`` -> its file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST, module_level: bool = True) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below ``node`` with whether it runs at import time (outside functions and TYPE_CHECKING)."""
    for child in ast.iter_child_nodes(node):
        inner = module_level
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = False
        elif isinstance(child, ast.If) and _is_type_checking(child):
            inner = False
        yield child, inner
        yield from _walk(child, inner)


def imports_of(name: str, path: Path, known: dict[str, Path] | None = None) -> list[Import]:
    """The ``rap`` imports of module ``name`` (file ``path``), resolved to modules of ``known``."""
    known = modules() if known is None else known
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, module_level in _walk(tree(path)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name == "rap" or a.name.startswith("rap.")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "rap" or base.startswith("rap."):
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        found += [Import(name, t, node.lineno, module_level) for t in targets if t != name]
    return found


@cache
def import_graph() -> tuple[Import, ...]:
    return tuple(i for name, path in modules().items() for i in imports_of(name, path))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The circles of a directed graph: its strongly connected components of more than one node, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:  # Tarjan's algorithm (the package is small enough for recursion)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return sorted(found)


def layer(module: str) -> str | None:
    """The layer of ``rap.<layer>...``; None for the package root, the package data and anything unplaced."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def section_of(module: str) -> str | None:
    """``rap.sections.<name>...`` -> name (a section module or package); None for shared or other modules."""
    parts = module.split(".")
    if parts[:2] != ["rap", "sections"] or len(parts) < 3 or parts[2] == "common":
        return None
    return parts[2]


def circle_message(circle: list[str], graph: tuple[Import, ...]) -> str:
    inside = set(circle)
    edges = [
        f"    {i.source} -> {i.target} (line {i.line}{'' if i.module_level else ', inside a function or type-only'})"
        for i in graph
        if i.source in inside and i.target in inside
    ]
    return " <-> ".join(circle) + "\n" + "\n".join(sorted(set(edges)))


# --------------------------------------------------------------------------------------------------
# data.kind comparisons


@cache
def kind_names() -> frozenset[str]:
    """The values ``data.kind`` may take (``rap/data/input_kinds.yaml``)."""
    return frozenset(yaml.safe_load((PACKAGE / "data" / "input_kinds.yaml").read_text(encoding="utf-8")))


def _is_data_kind(node: ast.AST) -> bool:
    """``<anything>.data.kind``."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "kind"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "data"
    )


def _is_kind_name(node: ast.AST) -> bool:
    """``input_kind(...).name``: the kind's name, compared like ``data.kind`` itself."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "name"
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) == "input_kind"
    )


def _names_a_kind(node: ast.AST) -> bool:
    """A string constant (or a tuple, list or set of them) that is one of the data kinds."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in kind_names()
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_kind(e) for e in node.elts)
    return False


def _called_kind(node: ast.AST) -> bool:
    """A name or attribute spelt ``kind`` (``kind``, ``self.kind``, ``data_kind``...)."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name == "kind" or name.endswith("_kind")


def kind_branches(source: str) -> list[int]:
    """Lines of ``source`` that branch on ``data.kind``: compare ``<x>.data.kind`` or ``input_kind(..).name``
    with anything, compare a value called ``kind`` with a kind's name, look ``data.kind`` up in a mapping, or
    ``match`` on it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_data_kind(s) or _is_kind_name(s) for s in sides) or (
                any(_called_kind(s) for s in sides) and any(_names_a_kind(s) for s in sides)
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and (_is_data_kind(node.slice) or _is_kind_name(node.slice)):
            lines.append(node.lineno)
        elif isinstance(node, ast.Match) and (_is_data_kind(node.subject) or _is_kind_name(node.subject)):
            lines.append(node.lineno)
    return sorted(set(lines))


def notebook_cells(path: Path) -> Iterator[tuple[int, str]]:
    """(cell number from 1, code) of each code cell; IPython magics and shell lines become ``pass``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            yield number, "\n".join("pass" if re.match(r"\s*[%!]", ln) else ln for ln in src.splitlines())


# --------------------------------------------------------------------------------------------------
# the detectors can fail: each one on a small case it must catch and one it must leave alone


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ("if params.data.kind == 'published':\n    pass", [1]),
        ("x = 'a' if p.data.kind != \"synthetic\" else 'b'", [1]),
        ("ok = self.params.data.kind in ('record', 'synthetic')", [1]),
        ("src = {'published': 1}[params.data.kind]", [1]),
        ("match params.data.kind:\n    case 'record':\n        pass", [1]),
        ("def f(kind):\n    return kind == 'published'", [2]),
        ("if input_kind(params).name == 'published':\n    pass", [1]),
        ("blanks = c.kind != 'indicator'", []),  # a table column's kind, not data.kind
        ("n = sum(f.kind == k for f in findings)", []),  # a finding's kind against a loop variable
        ("if input_kind(params).published:\n    pass", []),  # the way to ask
        ("text = f'Data kind: {params.data.kind}'", []),  # printing the kind is not branching on it
    ],
)
def test_kind_branch_detector(source, hits):
    assert kind_branches(source) == hits


def test_cycle_finder_and_import_resolution(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    pkg = tmp_path / "rap" / "x"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "y.py").write_text(
        "from rap.x import z, helper\nfrom . import z as again\nif TYPE_CHECKING:\n    from rap.core import a\n"
        "def f():\n    import rap.build.runner\n"
    )
    (pkg / "z.py").write_text("")
    known = {"rap.x": pkg / "__init__.py", "rap.x.y": pkg / "y.py", "rap.x.z": pkg / "z.py"}
    found = {(i.target, i.line, i.module_level) for i in imports_of("rap.x.y", pkg / "y.py", known)}
    assert found == {
        ("rap.x.z", 1, True),
        ("rap.x", 1, True),  # helper is a name in rap.x, not a module
        ("rap.x.z", 2, True),
        ("rap.core", 4, False),
        ("rap.build.runner", 6, False),
    }


# --------------------------------------------------------------------------------------------------
# the layout


def test_few_modules_sit_flat_in_the_package():
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(flat) <= MAX_FLAT_MODULES, (
        f"{len(flat)} modules sit flat in src/rap (at most {MAX_FLAT_MODULES}); move them into the layer folders "
        f"they belong to: {', '.join(flat)}"
    )


def test_every_module_is_in_a_layer():
    unplaced = sorted(
        f"{rel(path)} ({name})"
        for name, path in modules().items()
        if layer(name) is None and name not in ANYWHERE and not name.startswith("rap.data.")
    )
    assert not unplaced, (
        "modules outside the layers (" + " -> ".join(LAYERS) + "); put each in a layer folder, or add its folder "
        "to LAYERS here and to the layer order of README.md:\n" + "\n".join(unplaced)
    )


def test_imports_respect_the_layer_order():
    upward = []
    for i in import_graph():
        here, there = layer(i.source), layer(i.target)
        if here is None or there is None or i.target in ANYWHERE or i.target.startswith("rap.data."):
            continue
        if LAYERS.index(there) > LAYERS.index(here):
            where = "" if i.module_level else " (inside a function or type-only)"
            upward.append(
                f"{rel(modules()[i.source])}:{i.line}: {i.source} ({here}) imports {i.target} ({there}){where}"
            )
    assert not upward, (
        "imports from a higher layer (order: " + " -> ".join(LAYERS) + "; a module imports only its own layer "
        "or those to its left):\n" + "\n".join(sorted(upward))
    )


def test_no_section_imports_another_section():
    sideways = [
        f"{rel(modules()[i.source])}:{i.line}: {i.source} imports {i.target}"
        for i in import_graph()
        if section_of(i.source) and section_of(i.target) and section_of(i.source) != section_of(i.target)
    ]
    assert not sideways, (
        "a section imports another section (shared helpers belong in rap.sections.common or a lower layer):\n"
        + "\n".join(sorted(sideways))
    )


def test_no_import_circle_at_module_level():
    graph = tuple(i for i in import_graph() if i.module_level)
    edges: dict[str, set[str]] = {}
    for i in graph:
        edges.setdefault(i.source, set()).add(i.target)
    found = cycles(edges)
    assert not found, "import circles among module-level imports:\n" + "\n".join(
        circle_message(c, graph) for c in found
    )


def test_no_import_circle_counting_lazy_and_type_only_imports():
    graph = import_graph()
    edges: dict[str, set[str]] = {}
    for i in graph:
        edges.setdefault(i.source, set()).add(i.target)
    found = cycles(edges)
    assert not found, "import circles (counting imports inside functions and under TYPE_CHECKING):\n" + "\n".join(
        circle_message(c, graph) for c in found
    )


def test_no_function_is_longer_than_60_lines():
    long = []
    for path in modules().values():
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append((n, f"{rel(path)}:{node.lineno} {node.name} ({n} lines)"))
    assert not long, f"{len(long)} functions over {MAX_FUNCTION_LINES} lines (def to last line):\n" + "\n".join(
        text for _, text in sorted(long, reverse=True)
    )


def test_data_kind_is_branched_on_only_in_the_inputs_layer():
    files = {}
    for path in modules().values():
        if rel(path) not in KIND_EXEMPT and (lines := kind_branches(path.read_text(encoding="utf-8"))):
            files[rel(path)] = lines
    outside = {f: ln for f, ln in files.items() if not f.startswith("src/rap/inputs/")}
    listing = "\n".join(f"{f}: lines {', '.join(map(str, ln))}" for f, ln in sorted(files.items()))
    assert not outside and len(files) <= MAX_KIND_FILES, (
        f"data.kind is compared in {len(files)} files ({len(outside)} outside src/rap/inputs); at most "
        f"{MAX_KIND_FILES}, all in the inputs layer. Elsewhere ask rap.inputs.kinds.input_kind(params) "
        "(record_level, synthetic, published, source):\n" + listing
    )


def test_no_notebook_branches_on_data_kind():
    found = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for number, code in notebook_cells(path):
            try:
                lines = kind_branches(code)
            except SyntaxError as err:
                found.append(f"{rel(path)} cell {number}: cannot be parsed ({err.msg}, line {err.lineno})")
                continue
            found += [f"{rel(path)} cell {number} line {ln}" for ln in lines]
    assert not found, (
        "notebooks branch on data.kind (the sections should receive their data already decided):\n" + "\n".join(found)
    )


def test_nothing_in_the_package_points_at_the_shared_folder():
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary (a .docx template)
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if any(s in line for s in SHARED_PATHS):
                found.append(f"{rel(path)}:{number}: {line.strip()[:100]}")
    assert not found, (
        "files of the package point at the workplace's shared folder, which is not part of the repository; "
        'cite the source by name (e.g. "DfE\'s SSDA903 guidance", "PHE\'s confidence interval guide"):\n'
        + "\n".join(found)
    )


def test_readme_and_docs_cite_sources_by_name():
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(s in line for s in SHARED_PATHS):
                found.append(f"{rel(path)}:{number}: {line.strip()[:100]}")
    assert not found, "documentation points at the workplace's shared folder; name the source:\n" + "\n".join(found)


def test_no_module_level_fcntl():
    found = []
    for path in modules().values():
        for node, module_level in _walk(tree(path)):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if module_level and any(n.split(".")[0] == "fcntl" for n in names):
                found.append(f"{rel(path)}:{node.lineno}")
    assert not found, (
        "fcntl imported at module level (it does not exist on Windows, so importing the module fails there; "
        "lock with filelock):\n" + "\n".join(found)
    )


def test_every_package_folder_says_what_lives_there():
    silent = []
    for folder in sorted({p.parent for p in modules().values()}):
        init = folder / "__init__.py"
        has_docstring = init.is_file() and ast.get_docstring(tree(init))
        if not (folder / "README.md").is_file() and not has_docstring:
            silent.append(rel(folder))
    assert not silent, (
        "package folders without a README.md or a docstring in __init__.py (say what lives there, what it may "
        "import and its entry points):\n" + "\n".join(silent)
    )


def test_every_module_is_named_in_its_folder_readme():
    """A folder README lists its modules: a module added without a line there is invisible to the next analyst."""
    unnamed = []
    for path in sorted(modules().values()):
        readme = path.parent / "README.md"
        if path.name == "__init__.py" or not readme.is_file():
            continue
        if f"`{path.name}`" not in readme.read_text(encoding="utf-8"):
            unnamed.append(rel(path))
    assert not unnamed, "modules their folder's README.md does not name (add a line for each):\n" + "\n".join(unnamed)


def test_readme_layout_lists_every_package_folder():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[-1]
    top = sorted({p.parent.relative_to(PACKAGE).parts[0] for p in modules().values() if p.parent != PACKAGE})
    missing = [name for name in top if not re.search(rf"^\s+{re.escape(name)}/", layout, re.M)]
    assert not missing, f"README.md's Layout section does not list these folders of src/rap: {', '.join(missing)}"
