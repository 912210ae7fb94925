"""The layout the README draws, held by tests: a dependency direction, no cycle, small modules.

Only the semantic query layer may import MetricFlow; no module of `saas_kpis` may import one of
the tests; the package import graph has no cycle; no module grows past about 600 lines; every
package says what it is for.
"""

from __future__ import annotations

import ast
from pathlib import Path

from saas_kpis.project import REPO_ROOT

PACKAGE = REPO_ROOT / "saas_kpis"
METRICFLOW_MODULES = ("metricflow", "metricflow_semantics", "dbt_metricflow")
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {name: imports(path) for name, path in MODULES.items()}


def test_only_the_semantic_layer_imports_metricflow() -> None:
    importers = {
        name
        for name, imported in IMPORTS.items()
        if any(m.split(".")[0] in METRICFLOW_MODULES for m in imported)
    }
    assert importers, "the semantic layer imports MetricFlow"
    assert all(name.startswith("saas_kpis.semantic") for name in importers), importers


def test_the_package_has_no_import_cycle() -> None:
    graph = {
        name: {m for m in imported if m in MODULES and m != name}
        for name, imported in IMPORTS.items()
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for dependency in graph[name]:
            visit(dependency, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_the_semantic_layer_depends_on_nothing_above_it() -> None:
    for name, imported in IMPORTS.items():
        if name.startswith("saas_kpis.semantic"):
            above = {m for m in imported if m.startswith("saas_kpis.")}
            assert all(m.startswith("saas_kpis.semantic") for m in above), (name, above)


def test_product_code_does_not_import_the_tests() -> None:
    test_modules = {path.stem for path in (REPO_ROOT / "tests").rglob("*.py")}
    for name, imported in IMPORTS.items():
        assert not {m.split(".")[0] for m in imported} & test_modules, name


def test_modules_are_small_and_packages_documented() -> None:
    for name, path in MODULES.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= MAX_LINES, f"{name} has {lines} lines"
        if path.name == "__init__.py":
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert docstring, f"package {name} has no docstring saying what it is for"
