"""The offline validators' virtual environment (check-jsonschema, kubernetes-validate).

It is kept apart from the project's venv: check-jsonschema needs click 8.5, which
faust-streaming refuses. Made once under .data/tools-venv, again when the requirements change.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from load_tests.side_venv import side_venv_python

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("tools-requirements.txt")
DEFAULT_VENV = ROOT / ".data" / "tools-venv"


def tools_bin(venv: Path = DEFAULT_VENV) -> Path:
    """The venv's bin folder, (re)made when missing or when the requirements changed."""
    return side_venv_python(venv, REQUIREMENTS).parent


def require_tool(name: str) -> Path:
    """A validator from the tools venv; skip the test if it cannot be made (fail under CI)."""
    try:
        path = tools_bin() / name
    except (subprocess.SubprocessError, OSError) as exc:
        message = f"tools venv not made ({exc}); see {REQUIREMENTS.name}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    if not path.exists():
        pytest.fail(f"{name} missing from the tools venv: add it to {REQUIREMENTS.name}")
    return path
