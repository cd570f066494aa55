"""The layers contract covers every module: a new module of portal/ must be placed in a layer.

``lint-imports`` (make check, make test) checks the layers in pyproject.toml; a module that no
layer names is checked by nothing, so this test names each one that slips through.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.product import APPS

ROOT = Path(__file__).resolve().parents[2]


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [name.strip() for layer in contract["layers"] for name in layer.replace("|", ":").split(":")]


def _covered(module: str, layers: list[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in layers)


def test_every_app_and_every_portal_module_is_in_a_layer() -> None:
    layers = _layers()
    assert [app for app in APPS if not _covered(app, layers)] == []
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "portal").rglob("*.py")
        if "migrations" not in path.parts
    ]
    loose = sorted(
        m for m in modules if m not in ("portal", "portal.api", "portal.apps") and not _covered(m, layers)
    )
    assert loose == []
