"""Every error the project raises on purpose is a ScreeningError, so one ``except`` can catch it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pipeline
from pipeline.errors import ScreeningError

# Exceptions that must stay outside the tree, each with the reason. Private control-flow
# exceptions (a leading underscore) are not listed: they never leave their module.
OUTSIDE_THE_TREE: dict[str, str] = {}


def _project_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if module_info.name == "pipeline.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_public_exception_derives_from_screening_error() -> None:
    found = _project_exceptions()
    assert "pipeline.rules.conditions.ConditionError" in found  # the walk reaches subpackages
    outside = sorted(
        name
        for name, cls in found.items()
        if not issubclass(cls, ScreeningError) and name not in OUTSIDE_THE_TREE
    )
    assert outside == []


def test_errors_callers_catch_as_value_errors_still_are() -> None:
    from pipeline.feedback.safe import PeriodError
    from pipeline.rules.conditions import ConditionError

    assert issubclass(PeriodError, ValueError)
    assert issubclass(ConditionError, ValueError)
