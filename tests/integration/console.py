"""The console in a real browser: Debian's headless Chromium against a real exporter process.

Chromium is driven by its command line alone (``--dump-dom``, ``--screenshot``), so no Python
package is needed; the DOM it dumps is parsed with the standard library. Its host resolver maps
every name but loopback to nothing, so a page that needed anything from outside would show it.
Shared by tests/integration/test_console_browser.py and scripts/console_screenshots.py.
"""

import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests
import yaml

from simulator import Fault, Simulator
from simulator.demo import demo_catalog_dir
from tests.integration.harness import Exporter, free_port, wait_for

CHROMIUM_TIMEOUT = 60.0
DESKTOP = (1280, 800)
NARROW = (390, 844)  # a phone held upright
GRAFANA_URL = "http://grafana.invalid:3000/d/skyserve-fleet"
DEAD_TARGET = "dead-api"

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError("chromium is not installed: run the README's test command, which installs it")
    return found


def _run_chromium(args: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        argv = [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--hide-scrollbars",
            # Loopback only: any other name resolves to nothing.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
            f"--user-data-dir={profile}",
            *args,
        ]
        done = subprocess.run(argv, capture_output=True, timeout=CHROMIUM_TIMEOUT, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"chromium exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done.stdout


def dump_dom(url: str) -> "Element":
    """The DOM after Chromium loaded ``url``, parsed."""
    return parse_dom(_run_chromium(["--dump-dom", url]).decode())


def screenshot(url: str, path: Path, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run_chromium([f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url])
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list["Element | str"] = field(default_factory=list)

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return " ".join(" ".join(parts).split())

    def walk(self) -> Iterator["Element"]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list["Element"]:
        """Elements with this tag (any when None) whose attributes include ``attrs``
        (``class_`` for class, matched as one of the classes; ``data_x`` for ``data-x``)."""
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        return [
            e
            for e in self.walk()
            if (tag is None or e.tag == tag)
            and all(
                value in e.attrs.get("class", "").split() if key == "class" else e.attrs.get(key) == value
                for key, value in wanted.items()
            )
        ]

    def find(self, tag: str | None = None, **attrs: str) -> "Element":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs}"
        return found[0]

    def by_id(self, element_id: str) -> "Element":
        return self.find(None, id=element_id)

    def table_rows(self) -> list[list["Element"]]:
        """Each body row of a table as its cells (th and td)."""
        return [
            [cell for cell in row.children if isinstance(cell, Element) and cell.tag in ("th", "td")]
            for body in self.find_all("tbody")
            for row in body.children
            if isinstance(row, Element) and row.tag == "tr"
        ]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {key: value or "" for key, value in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(Element(tag, {key: value or "" for key, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse_dom(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def status(exporter: Exporter) -> dict[str, Any]:
    response = requests.get(f"{exporter.url}/api/v1/status", timeout=5)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def runs(document: dict[str, Any]) -> tuple[tuple[str, float | None], ...]:
    """Which run of each collector the document shows: equal twice, nothing was stored between."""
    return tuple(
        (c["name"], c["last_run"]["started_at"] if c["last_run"] else None) for c in document["collectors"]
    )


def consistent(exporter: Exporter, read: Callable[[], Any], attempts: int = 20) -> tuple[Any, dict[str, Any]]:
    """``read()`` done while no collector stored a run, so everything it read shows the same data;
    also returns the status document of that moment."""
    for _ in range(attempts):
        before = status(exporter)
        found = read()
        after = status(exporter)
        if runs(before) == runs(after):
            return found, after
    raise AssertionError(f"a collector stored a run during each of {attempts} attempts")


@contextmanager
def demo_exporter(tmp_path: Path) -> Iterator[Exporter]:
    """``skyserve-exporter --demo`` as a new user starts it, with a Grafana link, once every
    collector (the probes last) has run."""
    exporter = Exporter(["--demo", "--web.console.grafana-url", GRAFANA_URL], tmp_path)
    try:
        exporter.wait_ready(timeout=60)
        yield exporter
    finally:
        exporter.stop()


@contextmanager
def failing_exporter(tmp_path: Path) -> Iterator[Exporter]:
    """An exporter whose SkyServe upstream broke after a first good run and whose data has gone
    stale, with a static probe target on a port where nothing listens."""
    with Simulator(services=2, replicas_per_service=2, seed=3) as sim:
        config = {
            "collectors": {
                "skyserve": {"endpoint": sim.url, "interval": "1s", "timeout": "1s", "stale_after": "3s"},
                "probes": {
                    "interval": "1s",
                    "targets": [{"name": DEAD_TARGET, "url": f"http://127.0.0.1:{free_port()}/health"}],
                },
            },
            "pricing": {"catalog_dir": str(demo_catalog_dir())},
        }
        path = tmp_path / "failing.yml"
        path.write_text(yaml.safe_dump(config))
        exporter = Exporter(["--config", str(path)], tmp_path)
        try:
            exporter.wait_ready(timeout=30)
            wait_for(lambda: _state(exporter, "skyserve") == "ok", 15, "a good SkyServe run")
            sim.set_fault(Fault.ERROR_500)
            wait_for(lambda: _state(exporter, "skyserve") == "stale", 20, "SkyServe's data to go stale")
            yield exporter
        finally:
            exporter.stop()


def _state(exporter: Exporter, collector: str) -> str:
    states = {c["name"]: c["state"] for c in status(exporter)["collectors"]}
    return str(states[collector])
