"""dncsync's modules and who imports whom, read from the source (not by importing it).

Every `import` statement counts, wherever it stands: at the top, inside a function, or under
`if TYPE_CHECKING:`. A cycle hidden behind a late import is still a cycle in the design.
Used by `tests/test_architecture.py`; `python tests/architecture.py` prints the module map.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "dncsync"
SOURCE_ROOT = Path(__file__).resolve().parent.parent / "src"


@dataclass(slots=True)
class Module:
    """One module of the package: its name, file, size and the package modules it imports."""

    name: str
    path: Path
    lines: int
    imports: set[str] = field(default_factory=set)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        origin = ".".join([*base, node.module] if node.module else base)
    else:
        origin = node.module or ""
    for alias in node.names:
        candidate = f"{origin}.{alias.name}"
        # `from dncsync import logs` imports the module `dncsync.logs`, not the package.
        yield candidate if candidate in known else origin


def modules() -> dict[str, Module]:
    """Every module of the package with the package modules it imports."""
    found: dict[str, Module] = {}
    files = sorted((SOURCE_ROOT / PACKAGE).rglob("*.py"))
    for path in files:
        name = _module_name(path)
        found[name] = Module(name, path, len(path.read_text(encoding="utf-8").splitlines()))
    known = set(found)
    for module in found.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        is_package = module.path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = list(_resolve(node, module.name, is_package, known))
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]  # `import a.b.c` of a name in a.b
                if target and target != module.name:
                    module.imports.add(target)
    return found


def cycles(graph: dict[str, Module]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for other in sorted(graph[name].imports):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in on_stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def code_words(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, kind, text) of every name and string literal in a file, docstrings left out."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                docstrings.add(body[0].lineno)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            yield token.start[0], "name", token.string
        # f-strings are one STRING token before Python 3.12.
        elif token.type == tokenize.STRING and token.start[0] not in docstrings:
            yield token.start[0], "string", token.string


def print_map() -> None:
    """The module map: each module, its lines and the package modules it imports."""
    graph = modules()
    print(f"{len(graph)} modules, {sum(m.lines for m in graph.values())} lines")
    for name in sorted(graph):
        module = graph[name]
        short = sorted(other.removeprefix("dncsync.") for other in module.imports)
        print(f"{name.removeprefix('dncsync.') or 'dncsync'} ({module.lines}): {', '.join(short)}")
    for component in cycles(graph):
        print("cycle:", " <-> ".join(component))


if __name__ == "__main__":
    print_map()
