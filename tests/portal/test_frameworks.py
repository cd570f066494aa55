"""Frameworks as they come: no product module starts a thread, and nothing a web process
loads reaches the database around the ORM (see EXEMPT)."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.product import PRODUCT

ROOT = Path(__file__).resolve().parents[2]

# What a web process imports: settings, the URLconf with every view, the middleware
# and the API classes DRF loads from its settings on the first request. Run in a fresh
# interpreter, because this test process has imported commands and scripts too.
LOADED_BY_A_WEB_PROCESS = f"""
import json, sys
PRODUCT = {PRODUCT!r}
import django
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_resolver
from rest_framework.settings import api_settings
WSGIHandler()  # loads the middleware
get_resolver().url_patterns  # imports the URLconf and every view
for name in ("DEFAULT_AUTHENTICATION_CLASSES", "DEFAULT_PARSER_CLASSES", "DEFAULT_RENDERER_CLASSES",
             "DEFAULT_PERMISSION_CLASSES", "DEFAULT_CONTENT_NEGOTIATION_CLASS", "EXCEPTION_HANDLER",
             "DEFAULT_PAGINATION_CLASS", "DEFAULT_FILTER_BACKENDS"):
    getattr(api_settings, name)
print(json.dumps(sorted(
    module.__file__ for name, module in list(sys.modules.items())
    if name.split(".")[0] in PRODUCT and getattr(module, "__file__", None)
)))
"""

# (module path, function) where SQL is written by hand, and why it may be.
EXEMPT = {
    # The health check pings the database server itself and reads no data.
    ("portal/views.py", "_database_ok"),
}
EXEMPT_MODULES: set[str] = set()


def _product_files() -> list[Path]:
    return [
        path
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _calls(path: Path) -> list[tuple[str, str, int]]:
    """(dotted callee as written, enclosing function, line) for every call in the file."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call):
                found.append((ast.unparse(child.func), function, child.lineno))
            visit(child, name)

    visit(ast.parse(path.read_text(), filename=str(path)), "<module>")
    return found


def test_no_product_module_starts_a_thread() -> None:
    starts = [
        f"{path.relative_to(ROOT)}:{line} in {function}"
        for path in _product_files()
        for callee, function, line in _calls(path)
        if callee in {"threading.Thread", "Thread", "threading.Timer", "Timer", "_thread.start_new_thread"}
    ]
    assert starts == []


def test_the_removed_shortcuts_are_gone() -> None:
    for module in ("portal.api_io", "portal.rows"):
        assert importlib.util.find_spec(module) is None, module


def _loaded_by_a_web_process() -> list[Path]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_BY_A_WEB_PROCESS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [Path(name) for name in json.loads(result.stdout.strip().splitlines()[-1])]


@pytest.mark.cli
def test_the_request_path_reaches_the_database_through_the_orm() -> None:
    loaded = _loaded_by_a_web_process()
    relative = {str(path.relative_to(ROOT)) for path in loaded}
    # The check-in path and the token lookup are among what it checks.
    assert {
        "today/api.py",
        "accounts/tokens.py",
        "today/services.py",
        "outcomes/services.py",
    } <= relative
    raw = [
        f"{path.relative_to(ROOT)}:{line} {callee}() in {function}"
        for path in loaded
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in EXEMPT_MODULES
        for callee, function, line in _calls(path)
        if callee.endswith((".cursor", ".raw", ".extra")) or callee in {"RawSQL", "cursor"}
        if (str(path.relative_to(ROOT)), function) not in EXEMPT
    ]
    assert raw == []
