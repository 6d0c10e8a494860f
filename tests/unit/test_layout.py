"""The house plan: the library holds the logic and never reaches up to Prefect or its callers."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import music_etl

ABOVE_THE_LIBRARY = ("prefect", "prefect_aws", "tasks", "flows", "cli")


def test_every_library_module_imports_without_prefect_or_the_layers_above():
    modules = [name for _, name, _ in pkgutil.walk_packages(music_etl.__path__, "music_etl.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ABOVE_THE_LIBRARY!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(modules) > 20
    assert result.stdout.strip() == "[]"
