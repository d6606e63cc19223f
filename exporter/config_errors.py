"""Config problems as ``key.path: reason`` lines, shared by every part that validates config."""

from collections.abc import Sequence
from typing import Self

import pydantic
import yaml
from pydantic_core import PydanticCustomError

# The error type of ``key_error``: its context says which key inside the validated model is wrong.
KEY_ERROR_TYPE = "config_key"


class ConfigError(Exception):
    """A config that cannot run; ``problems`` are ``key.path: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SectionError(ValueError):
    """A section that validates but cannot run, found when its collector is built (a token file
    that cannot be read, say). ``key`` is the path inside the section (``token_file``) and
    ``reason`` says why, without the value, which may be secret; the framework adds the section's
    own path, so every problem reads ``key.path: reason``.

    ``problems`` holds every (key, reason) pair: ``SectionError.of`` reports several at once (all
    the mistakes of an inventory file), each on its own line.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
        self.problems: tuple[tuple[str, str], ...] = ((key, reason),)

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]]) -> Self:
        """One error for several problems; ``problems`` must not be empty."""
        (key, reason), *more = problems
        error = cls(key, reason)
        error.problems = ((key, reason), *more)
        error.args = ("; ".join(f"{k}: {r}" for k, r in error.problems),)
        return error


def key_error(key: str, reason: str) -> PydanticCustomError:
    """For a model validator that checks keys against each other: raise this so the problem is
    reported at ``key`` (a dotted path inside the model, ``targets.0.module``) rather than at the
    model, and the path is said once, in full, by ``format_validation_error``."""
    return PydanticCustomError(KEY_ERROR_TYPE, "{key}: {reason}", {"key": key, "reason": reason})


def validation_problems(exc: pydantic.ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """(key path, reason) of every error, as an operator reads them: an unknown key says so, and a
    ``key_error`` is placed at its key."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        location: tuple[int | str, ...] = error["loc"]
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        elif error["type"] == KEY_ERROR_TYPE:
            context = error.get("ctx") or {}
            location = (*location, *str(context["key"]).split("."))
            reason = str(context["reason"])
        found.append((location, reason))
    return found


def format_validation_error(exc: pydantic.ValidationError, prefix: str = "") -> list[str]:
    """``key.path: reason`` lines, each path after ``prefix`` (the section's own path)."""
    lines = []
    for location, reason in validation_problems(exc):
        path = ".".join(str(part) for part in (prefix, *location) if part != "")
        lines.append(f"{path or '(top level)'}: {reason}")
    return lines


def yaml_reason(exc: yaml.YAMLError) -> str:
    """What is wrong with a YAML document and where, without quoting it (it may hold secrets)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)
