"""The Quix Streams baseline's virtual environment, made once and kept under .data/bench."""

from __future__ import annotations

import subprocess
from pathlib import Path

from load_tests.side_venv import side_venv_python

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "load_tests" / "quix-requirements.txt"
DEFAULT_VENV = ROOT / ".data" / "bench" / "quix-venv"


def quix_python(venv: Path = DEFAULT_VENV) -> Path:
    """The venv's interpreter; (re)made when missing or when the requirements changed."""
    return side_venv_python(venv, REQUIREMENTS)


def quix_version(python: Path) -> str:
    result = subprocess.run(
        [str(python), "-c", "import quixstreams; print(quixstreams.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()
