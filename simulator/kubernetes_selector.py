"""Label selectors as the API server reads them (``a=b,c!=d,e,!f,g in (x,y),h notin (z)``)."""

import re
from collections.abc import Callable, Mapping
from typing import Final

Requirement = Callable[[Mapping[str, str]], bool]

_SET: Final = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQUALITY: Final = re.compile(r"^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$")
_KEY: Final = re.compile(r"^(!?)\s*([\w./-]+)$")


def parse_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over an object's labels; ValueError naming the requirement it cannot read."""
    requirements = [_requirement(part.strip()) for part in _split(text) if part.strip()]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses (``in (a,b)`` stays whole)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _requirement(part: str) -> Requirement:
    match = _SET.match(part)
    if match:
        key, operator = match.group(1), match.group(2)
        values = frozenset(value.strip() for value in match.group(3).split(",") if value.strip())
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    match = _EQUALITY.match(part)
    if match:
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _KEY.match(part)
    if match:
        negated, key = match.group(1) == "!", match.group(2)
        return lambda labels: (key in labels) != negated
    raise ValueError(f"unable to parse requirement: {part!r}")
