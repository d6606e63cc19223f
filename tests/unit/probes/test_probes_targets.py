"""Target parsing, and the URL comparison that decides whether /probe knows a target."""

import pytest

from collectors.probes.targets import join_path, split_host_port, url_key
from exporter.ports import PortError


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:443", ("::1", 443)),
        ("db.internal:5432", ("db.internal", 5432)),
        ("http://10.0.0.5:8000/health", ("10.0.0.5", 8000)),
        ("https://api.example.com/health", ("api.example.com", 443)),
    ],
)
def test_split_host_port(target: str, expected: tuple[str, int]) -> None:
    assert split_host_port(target) == expected


@pytest.mark.parametrize("target", ["127.0.0.1", "h:port", "user@h:80", "h:80/path", "tcp://h", ""])
def test_split_host_port_refuses(target: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(target)


@pytest.mark.parametrize("target", ["h:0", "h:65536", "[::1]:99999", "tls://h:70000", "http://u:s3cret@h:0/"])
def test_split_host_port_refuses_ports_out_of_range(target: str) -> None:
    with pytest.raises(PortError) as raised:
        split_host_port(target)
    assert str(raised.value).startswith("port must be 1-65535")
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    "same",
    [
        "http://10.0.0.5:8000/health",
        "HTTP://10.0.0.5:8000/health",
        "http://10.0.0.5:8000/health/",
        " http://10.0.0.5:8000/health",
    ],
)
def test_url_key_equal(same: str) -> None:
    assert url_key(same) == url_key("http://10.0.0.5:8000/health")


def test_default_ports_are_the_same_as_none() -> None:
    assert url_key("http://Api.Example.com/x") == url_key("http://api.example.com:80/x")
    assert url_key("https://api.example.com/x") == url_key("https://api.example.com:443/x")


@pytest.mark.parametrize(
    "different",
    [
        "http://10.0.0.6:8000/health",  # host
        "http://10.0.0.5:8001/health",  # port
        "https://10.0.0.5:8000/health",  # scheme
        "http://user@10.0.0.5:8000/health",  # userinfo
        "http://u:p@10.0.0.5:8000/health",
        "http://10.0.0.5:8000/healthz",  # path
        "http://10.0.0.5:8000/health?x=1",  # query
        "http://10.0.0.5:8000/%68ealth",  # encoding: refused rather than decoded
    ],
)
def test_url_key_different(different: str) -> None:
    assert url_key(different) != url_key("http://10.0.0.5:8000/health")


@pytest.mark.parametrize(
    "bad", ["10.0.0.5:8000", "ftp://h/", "http:///path", "http://h:99999/", "gopher://h"]
)
def test_url_key_refuses_what_is_not_an_http_url(bad: str) -> None:
    assert url_key(bad) is None


def test_join_path() -> None:
    assert join_path("http://h:1/services/a/", "/health") == "http://h:1/services/a/health"
    assert join_path("http://h:1", "/health") == "http://h:1/health"
