"""Problems as ``key.path: reason``: keys placed by validators, several problems from one section,
ports checked without echoing the URL they are in."""

from urllib.parse import urlsplit

import pydantic
import pytest
from pydantic import BaseModel, model_validator

from exporter.config_errors import SectionError, format_validation_error, key_error
from exporter.ports import PORT_RANGE, Port, PortError, check_port, url_port


class Target(BaseModel):
    module: str


class Section(BaseModel):
    modules: tuple[str, ...] = ("http_2xx",)
    targets: tuple[Target, ...] = ()

    @model_validator(mode="after")
    def _modules_exist(self) -> "Section":
        for index, target in enumerate(self.targets):
            if target.module not in self.modules:
                raise key_error(f"targets.{index}.module", f"unknown module {target.module!r}")
        return self


class Outer(BaseModel):
    probes: Section


def test_a_key_error_is_reported_at_its_key_with_the_path_said_once() -> None:
    with pytest.raises(pydantic.ValidationError) as raised:
        Outer.model_validate({"probes": {"targets": [{"module": "http_2xx"}, {"module": "nope"}]}})
    assert format_validation_error(raised.value, prefix="collectors") == [
        "collectors.probes.targets.1.module: unknown module 'nope'"
    ]
    # Read without the framework, the message still names the key.
    assert "targets.1.module: unknown module 'nope'" in str(raised.value)


def test_section_errors_carry_one_or_many_problems() -> None:
    one = SectionError("token_file", "/x: cannot read: No such file or directory")
    assert (one.key, one.reason, one.problems) == (
        "token_file",
        "/x: cannot read: No such file or directory",
        (("token_file", "/x: cannot read: No such file or directory"),),
    )
    many = SectionError.of([("contexts.0", "'a' is not a context"), ("contexts.2", "'c' is not a context")])
    assert (many.key, many.reason) == ("contexts.0", "'a' is not a context")
    assert many.problems == (("contexts.0", "'a' is not a context"), ("contexts.2", "'c' is not a context"))
    assert str(many) == "contexts.0: 'a' is not a context; contexts.2: 'c' is not a context"
    assert isinstance(many, ValueError)


@pytest.mark.parametrize("port", [1, 80, 65535])
def test_ports_in_range(port: int) -> None:
    assert check_port(port) == port


@pytest.mark.parametrize("port", [0, -1, 65536, 99999])
def test_ports_out_of_range(port: int) -> None:
    with pytest.raises(PortError, match=f"^{PORT_RANGE}, got {port}$"):
        check_port(port)


class Listener(BaseModel):
    port: Port


def test_the_port_type() -> None:
    assert Listener(port=65535).port == 65535
    with pytest.raises(pydantic.ValidationError) as raised:
        Listener(port=0)
    assert format_validation_error(raised.value) == ["port: port must be 1-65535, got 0"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h", None),
        ("http://h:", None),
        ("https://user:pw@h:8443/x", 8443),
        ("http://[::1]:1/", 1),
    ],
)
def test_url_ports(url: str, expected: int | None) -> None:
    assert url_port(urlsplit(url)) == expected


@pytest.mark.parametrize(
    "url", ["http://admin:s3cret@h:0/", "http://admin:s3cret@h:65536/", "http://admin:s3cret@h:http/"]
)
def test_url_ports_out_of_range_are_refused_without_the_url(url: str) -> None:
    with pytest.raises(PortError) as raised:
        url_port(urlsplit(url))
    assert str(raised.value).startswith(PORT_RANGE)
    assert "s3cret" not in str(raised.value)
