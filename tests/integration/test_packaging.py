"""The wheel: it carries the default rules, and an installed package screens with them.

No broker: the wheel is built from a copy of the sources (a build writes into the tree it
builds) with the setuptools of this environment, offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    # pipeline/default_rules is a link to rules/: copied as a link, as git checks it out.
    shutil.copytree(ROOT / "pipeline", source / "pipeline", symlinks=True, ignore=ignore)
    shutil.copytree(RULES, source / "rules")
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    [built] = out.glob("customs_screening-*.whl")
    return built


def test_the_wheel_carries_every_default_rule_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"pipeline/default_rules/{path.relative_to(RULES).as_posix()}"
        for path in RULES.rglob("*")
        if path.is_file()
    }
    assert expected
    assert expected <= names


def test_the_installed_package_validates_its_default_rules(wheel: Path, tmp_path: Path) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    elsewhere = tmp_path / "elsewhere"  # no rules/ folder here
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "rules", "validate"],
        cwd=elsewhere,
        # Ahead of the editable install of this checkout.
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"{installed / 'pipeline' / 'default_rules'}: ")
