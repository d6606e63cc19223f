"""Config problems as ``key.path: reason`` lines, shared by every part that validates config."""

import pydantic


class ConfigError(Exception):
    """A config that cannot run; ``problems`` are ``key.path: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SectionError(ValueError):
    """A section that validates but cannot run, found when its collector is built (a token file
    that cannot be read, say). ``key`` is the path inside the section (``token_file``) and
    ``reason`` says why, without the value, which may be secret; the framework adds the section's
    own path, so every problem reads ``key.path: reason``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def format_validation_error(exc: pydantic.ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{path or '(top level)'}: {reason}")
    return lines
