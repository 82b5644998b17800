"""SCREENING_* variables in deployment files, checked against the settings model."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.settings import VARIABLES, Settings

PREFIX = "SCREENING_"


def field_name(variable: str) -> str:
    """The settings field a SCREENING_* variable sets; AssertionError if there is none."""
    assert variable.startswith(PREFIX), variable
    name = variable[len(PREFIX) :].lower()
    assert name in VARIABLES, f"{variable} is not a setting of pipeline/settings.py"
    return name


def screening_variables(environment: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in environment.items() if k.startswith(PREFIX)}


def settings_from(environment: Mapping[str, object]) -> Settings:
    """The settings these variables give; ValidationError if a value is not valid."""
    values = {field_name(k): v for k, v in screening_variables(environment).items()}
    return Settings.model_validate(values)
