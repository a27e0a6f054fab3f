"""Plugins reach the provider only through its plugin interface (idp.factors) and the
store's public names (idp.store); every other module of idp is the host's own."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).parents[2] / "plugins"
ALLOWED = {"idp.factors", "idp.store"}


def idp_imports(path: Path) -> list[str]:
    """The idp modules that a file imports, as written (TYPE_CHECKING ones too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "idp":  # from idp import store
                names = [f"idp.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n == "idp" or n.startswith("idp.")]
    return found


def test_plugins_import_only_the_plugin_interface_and_the_store() -> None:
    files = sorted(PLUGINS.rglob("*.py"))
    assert files
    wrong = [
        f"{path.relative_to(PLUGINS)}: {module}"
        for path in files
        for module in idp_imports(path)
        if module not in ALLOWED
    ]
    assert wrong == []
