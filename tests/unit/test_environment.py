"""The Python environment `make setup` builds: the heavy libraries are compiled to bytecode.

Where PYTHONDONTWRITEBYTECODE is set (our CI machines, many containers) Python never writes
what it compiles, so without bytecode from the install every process (the daily run, each dbt
invocation, each test worker) would compile Dagster, dbt and the rest from source again.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# Packages every daily run imports (Dagster's definitions, the dbt subprocess, the ML jobs).
HEAVY_PACKAGES = ("dagster", "dagster_dbt", "dbt", "mlflow", "pandas", "sklearn")


def _missing_bytecode(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    missing = []
    tag = sys.implementation.cache_tag
    for folder in spec.submodule_search_locations:
        for source in Path(folder).rglob("*.py"):
            compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            if not compiled.exists():
                missing.append(source)
    return missing


@pytest.mark.parametrize("package", HEAVY_PACKAGES)
def test_heavy_packages_are_compiled_at_install(package: str) -> None:
    missing = _missing_bytecode(package)
    assert not missing, (
        f"{len(missing)} modules of {package} have no bytecode (e.g. {missing[:3]}): "
        "install with `uv pip install --compile-bytecode` (make setup does)"
    )
