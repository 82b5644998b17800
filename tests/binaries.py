"""External programs some tests need: skipped where absent, except in CI, where it fails."""

from __future__ import annotations

import os
import shutil

import pytest


def require(name: str, package: str = "prometheus") -> str:
    """The path of the program ``name``; skip the test without it (fail it under CI=true)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {package}; deploy/system-deps.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
