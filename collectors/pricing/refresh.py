"""Downloading a cloud's vms.csv from SkyPilot's hosted catalog and storing it as SkyPilot does.

Like ``sky/catalog/common.py::read_catalog``: GET ``{base}/{cloud}/vms.csv``, retry the S3 mirror on
HTTP 429, write the file atomically (temp file + rename) and record its md5 in
``.meta/{cloud}/vms.csv.md5``, so SkyPilot keeps treating the file as its own download. A file
whose recorded md5 no longer matches was edited by hand after a download: SkyPilot then stops
updating it, and so do we. Nothing is written unless the download parses as a catalog with rows.
Both tries together get ``refresh_timeout``, and each answer is cut off past ``body_size_limit``.
"""

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import requests

from collectors.pricing.catalog_files import (
    CATALOG_FILE,
    CatalogFormatError,
    ParsedCatalog,
    catalog_path,
    parse_catalog,
)
from exporter.deadline import Deadline
from exporter.errors import CollectorError
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, read_body

USER_AGENT: Final = "SkyPilot/0.7"  # what SkyPilot's own catalog download sends
LOCALLY_MODIFIED: Final = "locally_modified"


class RefreshError(Exception):
    """A download that cannot replace the cached catalog; the message is short and holds no secrets."""


@dataclass(frozen=True)
class Download:
    data: bytes
    parsed: ParsedCatalog


@dataclass(frozen=True)
class CatalogSource:
    base_url: str
    fallback_url: str | None
    timeout: float
    session_factory: Callable[[], requests.Session]
    body_size_limit: int = DEFAULT_BODY_SIZE_LIMIT
    monotonic: Callable[[], float] = time.monotonic

    def fetch(self, cloud: str) -> Download:
        """The cloud's catalog, checked to be one. Raises RefreshError."""
        deadline = Deadline(self.timeout, self.monotonic, f"downloading the {cloud} catalog")
        with self.session_factory() as session:
            response = self._get(session, self.base_url, cloud, deadline)
            if response.status_code == 429 and self.fallback_url:
                response.close()
                response = self._get(session, self.fallback_url, cloud, deadline)
            if not response.ok:
                response.close()
                raise RefreshError(f"HTTP {response.status_code}")
            try:
                data = read_body(response, deadline, self.body_size_limit, CATALOG_FILE)
            except CollectorError as exc:
                raise RefreshError(str(exc)) from None
        return _checked(data)

    def _get(self, session: requests.Session, base: str, cloud: str, deadline: Deadline) -> requests.Response:
        url = f"{base.rstrip('/')}/{cloud}/{CATALOG_FILE}"
        try:
            timeout = deadline.remaining()
            # stream=True: read_body then bounds the download in total time and in size.
            return session.get(url, timeout=timeout, headers={"User-Agent": USER_AGENT}, stream=True)
        except (requests.Timeout, CollectorError):
            raise RefreshError(f"timed out after {self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise RefreshError(f"request failed ({type(exc).__name__})") from None


def _checked(data: bytes | bytearray) -> Download:
    try:
        parsed = parse_catalog(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RefreshError("not a catalog: the response is not UTF-8 text") from None
    except CatalogFormatError as exc:
        raise RefreshError(f"not a catalog: {exc}") from None
    if not parsed.rows:
        raise RefreshError("not a catalog: no usable rows")
    return Download(data=bytes(data), parsed=parsed)  # kept: written to the catalog cache


def locally_modified(catalog_dir: Path, cloud: str) -> bool:
    """Whether the file was changed after the download its recorded md5 describes."""
    recorded = _md5_path(catalog_dir, cloud)
    try:
        expected = recorded.read_text(encoding="utf-8").strip()
        actual = hashlib.md5(catalog_path(catalog_dir, cloud).read_bytes(), usedforsecurity=False)
    except FileNotFoundError:
        return False
    return actual.hexdigest() != expected


def store(catalog_dir: Path, cloud: str, data: bytes) -> Path:
    """Atomically replace the cloud's catalog and its md5 record; returns the catalog path."""
    path = catalog_path(catalog_dir, cloud)
    try:
        _atomic_write(path, data)
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        _atomic_write(_md5_path(catalog_dir, cloud), digest.encode())
    except OSError as exc:
        raise RefreshError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _md5_path(catalog_dir: Path, cloud: str) -> Path:
    return catalog_dir / ".meta" / cloud / f"{CATALOG_FILE}.md5"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target, so the rename never crosses file systems.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
