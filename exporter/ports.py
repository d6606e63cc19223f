"""Ports in the config: 1-65535, whether written as a number, in ``host:port`` or in a URL."""

from typing import Annotated
from urllib.parse import SplitResult

from pydantic import AfterValidator

PORT_RANGE = "port must be 1-65535"


class PortError(ValueError):
    """A port out of range (or not a number); the message never holds the URL it came from."""


def check_port(port: int) -> int:
    # 0 would mean "any port" to a socket, never a port to connect to.
    if not 1 <= port <= 65535:
        raise PortError(f"{PORT_RANGE}, got {port}")
    return port


def url_port(parts: SplitResult) -> int | None:
    """The port ``parts`` names, or None when it names none (its scheme's default applies).

    PortError otherwise, saying only that the port must be 1-65535: the URL may carry credentials.
    """
    try:
        port = parts.port  # ValueError past 65535 or when not a number
    except ValueError:
        raise PortError(PORT_RANGE) from None
    return None if port is None else check_port(port)


Port = Annotated[int, AfterValidator(check_port)]
"""A config field holding a TCP port."""
