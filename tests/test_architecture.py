"""The shape of the code, kept so by the suite (docs/architecture.md): the one direction of
dependency (import-linter's contract in pyproject.toml), no import circles, files a reader can
hold in one sitting, and functions of reports/ and metrics/ that take a request object rather
than a clump of loose parameters."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "reports", "metrics", "charts", "db")
MAX_LINES = 300
MAX_PARAMS = 6


def _sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if "migrations" not in p.parts)


def test_the_layers_hold():
    # In a process of its own: import-linter configures logging (dictConfig), which would switch
    # off the loggers of the tests that run after this one.
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", "pyproject.toml", "--no-cache"], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), imports inside functions
    included: a lazy import is still a dependency."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in graph.find_modules_directly_imported_by(m):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                group.append(n)
                if n == m:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return out


def test_no_import_circles():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    # a package's __init__ that hands on names of its own modules is not a circle of design
    for m in list(graph.modules):
        for n in graph.find_modules_directly_imported_by(m):
            if n.startswith(m + ".") or m.startswith(n + "."):
                graph.remove_import(importer=m, imported=n)
    assert _cycles(graph) == []


def test_files_fit_in_one_sitting():
    long = {str(p.relative_to(ROOT)): n for p in _sources(*PACKAGES, "bench")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("folder", ["reports", "metrics"])
def test_no_clump_of_parameters(folder):
    clumps = []
    for p in _sources(folder):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.arg not in ("self", "cls")]
                if len(names) + bool(a.vararg) + bool(a.kwarg) > MAX_PARAMS:
                    clumps.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert clumps == []
