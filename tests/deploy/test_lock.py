"""requirements/*.lock: the versions make setup, CI and the Dockerfile install. Every dependency
pyproject.toml names is locked, at a version its range allows, with hashes; the image's lock is
the same versions as the tests'."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)")


def _lock(name: str) -> dict[str, tuple[Version, int]]:
    """Each package of a lock file: its version and how many hashes it carries."""
    entries: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonicalize_name(pin.group(1))
            entries[current] = (Version(pin.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        elif not line.startswith(" "):
            current = None
    return entries


def _requirements(*groups: str) -> list[Requirement]:
    names = list(PROJECT["dependencies"])
    for group in groups:
        names += PROJECT["optional-dependencies"][group]
    return [
        Requirement(n)
        for n in names
        if canonicalize_name(Requirement(n).name) != "customs-screening"
    ]


DEV = _lock("dev.lock")
RUNTIME = _lock("runtime.lock")


@pytest.mark.parametrize(
    ("lock", "groups"),
    [(DEV, ("dev", "bench", "ops")), (RUNTIME, ())],
    ids=["dev.lock", "runtime.lock"],
)
def test_every_dependency_is_locked_within_its_range(
    lock: dict[str, tuple[Version, int]], groups: tuple[str, ...]
) -> None:
    for requirement in _requirements(*groups):
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement.name} is not in the lock: run make lock"
        version = lock[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement.name} is locked at {version}, outside {requirement.specifier}:"
            " run make lock"
        )


def test_every_locked_package_has_a_hash() -> None:
    for lock in (DEV, RUNTIME):
        assert lock, "an empty lock"
        assert not [name for name, (_, hashes) in lock.items() if hashes == 0]


def test_the_image_runs_the_versions_the_tests_ran() -> None:
    assert {name: v for name, (v, _) in RUNTIME.items()} == {
        name: v for name, (v, _) in DEV.items() if name in RUNTIME
    }
    # Nothing only the tests need goes into the image.
    assert not {"pytest", "ruff", "mypy", "playwright"} & set(RUNTIME)


def test_pyproject_gives_ranges_not_pins_for_library_users() -> None:
    pinned = [r for r in _requirements() if any(s.operator == "==" for s in r.specifier)]
    assert pinned == []
