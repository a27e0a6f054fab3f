"""Every distribution that idp/ and plugins/ import is declared in pyproject.toml's
dependencies, so that none arrives only because another package happens to need it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN_PACKAGES = {"idp", "plugins"}


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert found, requirement
        names.add(_normalized(found.group()))
    return names


def top_level_imports(folders: Iterable[Path]) -> dict[str, set[str]]:
    """Each top-level module name imported (absolutely) by a .py file under `folders`,
    with the files that import it."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(folder)))
    return found


def undeclared(folders: Iterable[Path], declared: set[str]) -> dict[str, str]:
    """Module -> why it is not covered: neither the project's own, nor the standard
    library, nor provided by a declared distribution."""
    distributions = packages_distributions()
    problems = {}
    for module, files in sorted(top_level_imports(folders).items()):
        if module in OWN_PACKAGES or module in sys.stdlib_module_names:
            continue
        providers = {_normalized(d) for d in distributions.get(module, [])}
        if not providers:
            problems[module] = f"no installed distribution provides it ({sorted(files)[0]})"
        elif not providers & declared:
            problems[module] = f"from {sorted(providers)}, not declared ({sorted(files)[0]})"
    return problems


def test_every_import_of_the_code_is_declared() -> None:
    folders = [ROOT / name for name in sorted(OWN_PACKAGES)]
    assert undeclared(folders, declared_distributions()) == {}


def test_an_import_that_only_arrives_through_another_package_is_found(tmp_path: Path) -> None:
    # idna comes with httpx; the project itself never declares it
    (tmp_path / "module.py").write_text(
        "from __future__ import annotations\nimport json\nimport idna\nfrom . import sibling\n"
    )
    (tmp_path / "other.py").write_text("from not_a_module_anywhere.sub import thing\n")
    problems = undeclared([tmp_path], declared_distributions())
    assert set(problems) == {"idna", "not_a_module_anywhere"}
    assert "['idna'], not declared (module.py)" in problems["idna"]
