"""The explorer's state and the services' workers import no Qt: they run (and are tested) headless."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO_ROOT

QT_FREE = [
    "latentlab.explorer",
    "latentlab.explorer.session",
    "latentlab.explorer.map_layers",
    "latentlab.explorer.chain_runs",
    "latentlab.explorer.pixel_runs",
    "latentlab.explorer.compare_decodes",
    "latentlab.services",
    "latentlab.services.jobs",
    "latentlab.services.decode",
    "latentlab.services.gate",
]

PROBE = """
import importlib, json, sys
qt = lambda: sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))
found = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    found[name] = qt()
print(json.dumps(found))
"""


def test_explorer_and_services_import_no_qt():
    # A fresh interpreter (in this one the UI tests have long imported Qt); each module is imported
    # in turn, so the first one that pulls Qt in is the one named.
    result = subprocess.run([sys.executable, "-c", PROBE, *QT_FREE], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert {name: loaded for name, loaded in found.items() if loaded} == {}
