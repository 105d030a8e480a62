"""The layering of docs/architecture.md as a contract, checked by import-linter (its configuration is
`[tool.importlinter]` in pyproject.toml): each layer imports only those below it, Qt is imported only
under latentlab.ui, and no import cycle runs between sibling packages or modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ("Layers: each imports only those below it", "Qt only under latentlab.ui",
             "No import cycles between sibling packages")


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter is not installed (it is in the test extra: pip install -e '.[test]')")
    return found


def _run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_lint_imports(), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root)})


def test_every_contract_is_kept():
    result = _run(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout


def test_an_upward_import_and_a_cycle_break_the_contracts(tmp_path):
    """The contracts bite: in a copy of the sources, models importing the explorer breaks the layers
    and two model modules importing each other breaks the cycle rule."""
    for part in ("latentlab", "trainers"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "latentlab" / "models" / "mmd.py", "a") as f:
        f.write("\nimport latentlab.explorer.session  # upward\nimport latentlab.models.wae  # wae imports mmd\n")
    result = _run(tmp_path)
    assert result.returncode != 0
    assert "Layers: each imports only those below it BROKEN" in result.stdout
    assert "No import cycles between sibling packages BROKEN" in result.stdout
    assert "Qt only under latentlab.ui KEPT" in result.stdout
