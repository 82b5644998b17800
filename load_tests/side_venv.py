"""A virtual environment kept apart from the project's, for tools whose pins conflict with it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def side_venv_python(venv: Path, requirements: Path) -> Path:
    """The venv's interpreter; (re)made when missing or when ``requirements`` changed."""
    python = venv / "bin" / "python"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = venv / ".requirements-sha256"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    # The base interpreter, not the project's venv: the two must not share packages.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        check=True,
        timeout=900,
    )
    marker.write_text(digest)
    return python
