"""The Quix Streams baseline's virtual environment, made once and kept under .data/bench."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "load_tests" / "quix-requirements.txt"
DEFAULT_VENV = ROOT / ".data" / "bench" / "quix-venv"


def quix_python(venv: Path = DEFAULT_VENV) -> Path:
    """The venv's interpreter; (re)made when missing or when the requirements changed."""
    python = venv / "bin" / "python"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / ".requirements-sha256"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    # The base interpreter, not the project's venv: the two must not share packages.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
        timeout=900,
    )
    marker.write_text(digest)
    return python


def quix_version(python: Path) -> str:
    result = subprocess.run(
        [str(python), "-c", "import quixstreams; print(quixstreams.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()
