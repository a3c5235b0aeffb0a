"""The architecture holds: import-linter's contracts (pyproject.toml) and thin pages.

pages/ is a folder of scripts, not a package, so import-linter cannot see it: a page may
import Streamlit, observatory.ui (and its modules), `from observatory import views` (to name
the view it fetches through the gateway) and the standard library, nothing else.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# Modules a connector may import from observatory: the extension point, the stores and the
# basics they rest on (plus the district writer its districts connector hands over to).
CONNECTOR_API = {
    "connectors",
    "store",
    "lake",
    "snapshots",
    "errors",
    "h3grid",
    "settings",
    "service_categories",
    "walkable",  # the walkable-ways rule the OSM connector applies
    "timeparse",  # the one rule for reading times
    "districts",
}

# Real violations not fixed here, with why; each must still exist (a stale entry fails).
PAGE_EXCEPTIONS: set[tuple[str, str]] = set()


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _observatory_children() -> set[str]:
    package = REPO / "observatory"
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    return modules | {p.parent.name for p in package.glob("*/__init__.py")}


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("contract_id", "key", "expected"),
    [
        # Every module but ui may not import Streamlit.
        ("streamlit", "source_modules", lambda children: children - {"ui"}),
        # Every module but the connector API is out of reach of data_sources.
        (
            "connectors-use-the-extension-api",
            "forbidden_modules",
            lambda children: children - CONNECTOR_API,
        ),
    ],
)
def test_listed_contracts_cover_every_module(contract_id: str, key: str, expected) -> None:
    """These contracts list modules one by one; a new module must be listed too."""
    listed = {name.removeprefix("observatory.") for name in _contracts()[contract_id][key]}
    want = expected(_observatory_children())
    assert listed == want, (
        f"pyproject.toml contract `{contract_id}`, {key}: add {sorted(want - listed)}, "
        f"remove {sorted(listed - want)}"
    )


def test_contracts_fail_on_code_that_breaks_them(tmp_path: Path) -> None:
    for folder in ("observatory", "data_sources"):
        shutil.copytree(
            REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    breaks = {
        "observatory/views/model.py": "import observatory.ui.widgets\n",  # views > ui
        "observatory/disclosure.py": "import streamlit\n",
        "observatory/network.py": "import data_sources.osm_categories\n",
        "data_sources/units.py": "import observatory.build\n",  # the old demo-feeds cycle
    }
    for relative, line in breaks.items():
        path = tmp_path / relative
        path.write_text(path.read_text() + line)

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    assert "Contracts: 0 kept, 4 broken." in result.stdout, result.stdout
    assert "observatory.views is not allowed to import observatory.ui" in result.stdout
    assert "observatory.disclosure -> streamlit" in result.stdout
    assert "observatory.network -> data_sources.osm_categories" in result.stdout
    assert "data_sources.units -> observatory.build" in result.stdout


def _allowed(module: str) -> bool:
    top = module.partition(".")[0]
    return (
        top == "streamlit"
        or module == "observatory.ui"
        or module.startswith("observatory.ui.")
        or module == "observatory.views"  # `from observatory import views`: name what to fetch
        or top in sys.stdlib_module_names
    )


def page_import_problems(source: str, *, path: str) -> list[tuple[str, int, str]]:
    """(path, line, module) for every import of a page outside what pages may import."""
    problems = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # pages are not a package
                modules = ["." * node.level + (node.module or "")]
            elif node.module in ("observatory", "observatory.views"):  # `from x import ui`
                modules = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                modules = [node.module or ""]
        else:
            continue
        problems += [
            (path, node.lineno, m) for m in modules if not (_allowed(m) or m == "__future__")
        ]
    return problems


def test_pages_import_only_streamlit_the_ui_and_the_standard_library() -> None:
    pages = sorted((REPO / "pages").rglob("*.py"))
    assert pages, "no page scripts found under pages/"
    problems = [
        p
        for page in pages
        for p in page_import_problems(page.read_text(), path=page.relative_to(REPO).as_posix())
    ]
    found = {(path, module) for path, _, module in problems}
    unexpected = [p for p in problems if (p[0], p[2]) not in PAGE_EXCEPTIONS]
    assert not unexpected, (
        "pages may import only streamlit, observatory.ui, observatory.views and the "
        "standard library:\n"
        + "\n".join(f"  {path} line {line}: {module}" for path, line, module in unexpected)
    )
    stale = PAGE_EXCEPTIONS - found
    assert not stale, f"fixed, so delete from PAGE_EXCEPTIONS: {sorted(stale)}"


def test_the_page_check_catches_what_pages_must_not_import() -> None:
    source = """
import json
import streamlit as st
from streamlit.testing.v1 import AppTest
from observatory.ui import gateway
import observatory.ui.widgets
import duckdb
from observatory.views import indicators
from observatory import store, ui, views
from . import helpers
def later():
    import polars as pl
"""
    problems = page_import_problems(source, path="pages/x.py")
    assert [(line, module) for _, line, module in problems] == [
        (7, "duckdb"),
        (8, "observatory.views.indicators"),
        (9, "observatory.store"),
        (10, "."),
        (12, "polars"),
    ]


POLARS_IN_PAGES = re.compile(r"\.to_list\(|\bpl\.|\.filter\(|\.with_columns\(|\.select\(|"
                             r"\.height\b|\.row\(|\.iter_rows\(|\.group_by\(")


def test_pages_are_short_and_free_of_dataframe_code() -> None:
    """Pages compose: under 80 lines each, and no Polars expressions (issue 15)."""
    problems = []
    for page in sorted((REPO / "pages").rglob("*.py")):
        lines = page.read_text(encoding="utf-8").splitlines()
        where = page.relative_to(REPO)
        if len(lines) >= 80:
            problems.append(f"{where}: {len(lines)} lines")
        problems += [f"{where} line {n}: {line.strip()}" for n, line in
                     enumerate(lines, start=1) if POLARS_IN_PAGES.search(line)]
    assert not problems, "\n".join(problems)
