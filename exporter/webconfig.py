"""``--web.config.file``: Prometheus exporter-toolkit's web configuration file, read the way it reads it.

The format and its meaning follow the exporter-toolkit that Debian's promtool 2.42 bundles (so
``promtool check web-config`` is the reference): ``tls_server_config``, ``http_server_config`` and
``basic_auth_users``. Where Python's ``ssl`` module cannot do what Go's ``crypto/tls`` does, the key is
refused with a reason rather than accepted and ignored; where Go would silently accept a config that
cannot work (a client CA file with no certificate in it, min_version above max_version) it is refused
here too. See docs/examples/web/README.md for the list.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from exporter.webauth import BasicAuth, bcrypt_hash_problem


class WebConfigError(ValueError):
    """A web config that cannot be used; the message is ``key.path: reason``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason


class ClientAuth(enum.StrEnum):
    NO_CLIENT_CERT = "NoClientCert"
    VERIFY_CLIENT_CERT_IF_GIVEN = "VerifyClientCertIfGiven"
    REQUIRE_AND_VERIFY_CLIENT_CERT = "RequireAndVerifyClientCert"


# Go's crypto/tls can ask for a certificate and take it unverified; Python's ssl verifies every
# certificate it receives against the loaded CAs and offers no hook to skip that, so these two (and
# the old spelling of the second) cannot be honoured.
_UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")


class TLSVersion(enum.IntEnum):
    """exporter-toolkit's names, valued as on the wire so that order compares."""

    TLS10 = 0x0301
    TLS11 = 0x0302
    TLS12 = 0x0303
    TLS13 = 0x0304

    def to_ssl(self) -> ssl.TLSVersion:
        return ssl.TLSVersion(int(self))


# Go's tls.CipherSuites() (the ones exporter-toolkit accepts) and their OpenSSL names. The TLS 1.3
# suites are accepted and have no effect, as in Go: neither library lets them be chosen.
_TLS12_CIPHERS: Mapping[str, str] = MappingProxyType(
    {
        "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
        "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    }
)
_TLS13_CIPHERS = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)

# TLS 1.0 and 1.1 sign the handshake with MD5+SHA1, which OpenSSL 3 allows only at security level 0;
# a config that asks for them gets that level and the suites Go 1.19 offers by default.
_LEGACY_CIPHERS = ":".join(_TLS12_CIPHERS.values()) + ":@SECLEVEL=0"

_CURVES: Mapping[str, str] = MappingProxyType(
    {"CurveP256": "prime256v1", "CurveP384": "secp384r1", "CurveP521": "secp521r1", "X25519": "X25519"}
)

# exporter-toolkit only lets these headers be set, some only to these values (web/handler.go).
_HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Strict-Transport-Security": (),
        "X-Content-Type-Options": ("nosniff",),
        "X-Frame-Options": ("deny", "sameorigin"),
        "X-XSS-Protection": (),
        "Content-Security-Policy": (),
    }
)

# Keys of later exporter-toolkit versions: promtool 2.42 refuses them as unknown, and so does this
# loader, with a hint that they are not a typo.
_LATER_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "": frozenset({"rate_limit"}),
        "tls_server_config": frozenset({"cert", "key", "client_ca", "client_allowed_sans"}),
    }
)

# A certificate, key or CA bundle is a few kilobytes; the cap keeps a wrong path (a log file, a
# device) from being read whole every second.
_MAX_FILE_BYTES = 1 << 20

_ALPN = ("http/1.1",)


@dataclass(frozen=True)
class TLSServerConfig:
    """``tls_server_config`` with TLS on; paths are already joined with the web config's directory."""

    cert_file: Path
    key_file: Path
    client_auth_type: ClientAuth = ClientAuth.NO_CLIENT_CERT
    client_ca_file: Path | None = None
    min_version: TLSVersion = TLSVersion.TLS12
    max_version: TLSVersion = TLSVersion.TLS13
    cipher_suites: tuple[str, ...] = ()
    curve_preferences: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True

    @property
    def files(self) -> tuple[Path, ...]:
        """The files a handshake depends on: a change to any of them calls for a new context."""
        files = (self.cert_file, self.key_file)
        return (*files, self.client_ca_file) if self.client_ca_file is not None else files

    @property
    def effective_min_version(self) -> TLSVersion:
        # Only TLS 1.3 suites listed: TLS 1.2 has none to choose from, as in Go.
        tls12 = [name for name in self.cipher_suites if name in _TLS12_CIPHERS]
        if self.cipher_suites and not tls12:
            return max(self.min_version, TLSVersion.TLS13)
        return self.min_version

    @property
    def legacy(self) -> bool:
        return self.effective_min_version < TLSVersion.TLS12

    @property
    def handshake_settings(self) -> tuple[object, ...]:
        """What a context swapped in by ``SSLContext.sni_callback`` does not change.

        OpenSSL's ``SSL_set_SSL_CTX`` takes the certificate, key, trust store and cipher list from the
        new context but keeps the verify mode, protocol versions, options and curves of the one the
        connection started with: when these differ, the listening context itself must be replaced.
        """
        return (
            self.client_auth_type,
            self.effective_min_version,
            self.max_version,
            self.prefer_server_cipher_suites,
            self.curve_preferences,
            self.legacy,
        )

    def ssl_context(self) -> WebSSLContext:
        """A new server context from the files as they are now; raises WebConfigError naming the key."""
        cert_pem = _read_text("tls_server_config.cert_file", self.cert_file)
        key_pem = _read_text("tls_server_config.key_file", self.key_file)
        if "-----BEGIN CERTIFICATE-----" not in cert_pem:
            raise WebConfigError("tls_server_config.cert_file", f"no PEM certificate in {self.cert_file}")
        if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", key_pem):
            raise WebConfigError("tls_server_config.key_file", f"no PEM private key in {self.key_file}")
        if "ENCRYPTED" in key_pem:
            raise WebConfigError(
                "tls_server_config.key_file",
                f"{self.key_file} is encrypted; exporter-toolkit cannot read encrypted keys either",
            )
        ctx = WebSSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.handshake_settings = self.handshake_settings
        try:
            ctx.load_cert_chain(self.cert_file, self.key_file, password=_no_password)
        except ssl.SSLError as exc:
            raise self._chain_error(cert_pem, exc) from None
        except OSError as exc:
            # Replaced between the read above and OpenSSL's: the next check sees the new files.
            raise WebConfigError("tls_server_config.cert_file", f"cannot read: {exc.strerror}") from None

        ctx.verify_mode = {
            ClientAuth.NO_CLIENT_CERT: ssl.CERT_NONE,
            ClientAuth.VERIFY_CLIENT_CERT_IF_GIVEN: ssl.CERT_OPTIONAL,
            ClientAuth.REQUIRE_AND_VERIFY_CLIENT_CERT: ssl.CERT_REQUIRED,
        }[self.client_auth_type]
        if self.client_ca_file is not None:
            ca_pem = _read_text("tls_server_config.client_ca_file", self.client_ca_file)
            try:
                ctx.load_verify_locations(cadata=ca_pem)
            except (ssl.SSLError, ValueError) as exc:
                raise WebConfigError(
                    "tls_server_config.client_ca_file",
                    f"no usable PEM certificate in {self.client_ca_file}: {_ssl_reason(exc)}",
                ) from None
            # Go trusts every certificate in ClientCAs as an anchor, an intermediate CA too.
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN

        ctx.minimum_version = self.effective_min_version.to_ssl()
        ctx.maximum_version = self.max_version.to_ssl()
        tls12 = [_TLS12_CIPHERS[name] for name in self.cipher_suites if name in _TLS12_CIPHERS]
        if tls12:
            ctx.set_ciphers(":".join(tls12) + (":@SECLEVEL=0" if self.legacy else ""))
        elif self.legacy:
            ctx.set_ciphers(_LEGACY_CIPHERS)
        if self.prefer_server_cipher_suites:
            ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:
            ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        if self.curve_preferences:
            ctx.set_ecdh_curve(_CURVES[self.curve_preferences[0]])
        # exporter-toolkit hands Go a new tls.Config per handshake, whose fresh ticket keys never
        # resume a session; without tickets a rotated client CA also takes effect on every client.
        ctx.options |= ssl.OP_NO_TICKET
        ctx.num_tickets = 0
        ctx.set_alpn_protocols(list(_ALPN))
        return ctx

    def _chain_error(self, cert_pem: str, exc: ssl.SSLError) -> WebConfigError:
        # A key of the certificate's type but another pair, or a key of another type (RSA for ECDSA).
        if exc.reason in ("KEY_VALUES_MISMATCH", "NO_CERTIFICATE_ASSIGNED"):
            return WebConfigError(
                "tls_server_config.key_file",
                f"{self.key_file} does not match the certificate in {self.cert_file}",
            )
        scratch = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            scratch.load_verify_locations(cadata=cert_pem)
        except (ssl.SSLError, ValueError) as cert_exc:
            return WebConfigError(
                "tls_server_config.cert_file",
                f"bad PEM certificate in {self.cert_file}: {_ssl_reason(cert_exc)}",
            )
        return WebConfigError(
            "tls_server_config.key_file", f"bad PEM private key in {self.key_file}: {_ssl_reason(exc)}"
        )


class WebSSLContext(ssl.SSLContext):
    """A server context that remembers the settings an ``sni_callback`` swap cannot change."""

    handshake_settings: tuple[object, ...] = ()


@dataclass(frozen=True)
class HTTPServerConfig:
    # Accepted and without effect: this exporter answers HTTP/1.1 only (ALPN offers nothing else),
    # which every HTTP/2 client falls back to.
    http2: bool = True
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WebConfig:
    """A parsed web config; no ``tls_server_config`` (or one with nothing set) means plain HTTP."""

    tls_server_config: TLSServerConfig | None = None
    http_server_config: HTTPServerConfig = HTTPServerConfig()
    # Hashes are not secrets the way passwords are, but they are offline-guessable: kept out of repr.
    basic_auth_users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    # Things worth a log line that exporter-toolkit accepts silently.
    notes: tuple[str, ...] = ()

    @property
    def tls(self) -> bool:
        return self.tls_server_config is not None

    @property
    def files(self) -> tuple[Path, ...]:
        return self.tls_server_config.files if self.tls_server_config is not None else ()

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Response headers to add, blank ones left out (exporter-toolkit: "Unset if blank")."""
        return tuple((name, value) for name, value in self.http_server_config.headers if value)

    def ssl_context(self) -> WebSSLContext | None:
        """A new server context from the files as they are now, or None for plain HTTP."""
        return self.tls_server_config.ssl_context() if self.tls_server_config is not None else None

    def basic_auth(self) -> BasicAuth | None:
        """A new checker for ``basic_auth_users`` (with an empty cache), or None when auth is off."""
        return BasicAuth(self.basic_auth_users) if self.basic_auth_users else None


def load_web_config(path: Path) -> WebConfig:
    """Read, parse and check a web config, its certificate files included; raises WebConfigError."""
    config = parse_web_config(_read_text("", path, what="web config"), path.parent)
    config.ssl_context()
    return config


def parse_web_config(text: str, directory: Path) -> WebConfig:
    """Parse and check a web config's text without opening the files it names.

    Relative paths are joined with ``directory``, as exporter-toolkit joins them with the config file's
    directory (not the working directory, and without resolving symlinks).
    """
    root = _compose(text)
    if root is None:
        return WebConfig()
    sections = _mapping(root, "")
    tls: TLSServerConfig | None = None
    http = HTTPServerConfig()
    users: dict[str, str] = {}
    notes: list[str] = []
    for key, node in sections.items():
        if key == "tls_server_config":
            tls = _tls_server_config(node, directory, notes)
        elif key == "http_server_config":
            http = _http_server_config(node)
        elif key == "basic_auth_users":
            users = _basic_auth_users(node)
        else:
            raise _unknown_key("", key)
    return WebConfig(tls, http, MappingProxyType(users), tuple(notes))


_TLS_STRING_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
)
_TLS_SWITCHES = ("cert_file", "key_file", "client_auth_type", "client_ca_file")


@dataclass
class _TLSKeys:
    """``tls_server_config`` as written, before the checks that relate keys to each other."""

    given: bool = False
    strings: dict[str, str] = field(default_factory=dict)
    cipher_suites: tuple[str, ...] = ()
    curves: tuple[str, ...] = ()
    prefer_server: bool = True


def _tls_keys(node: yaml.Node, prefix: str) -> _TLSKeys:
    keys = _mapping(node, prefix)
    result = _TLSKeys(given=bool(keys))
    for key, value in keys.items():
        path = f"{prefix}.{key}"
        if key in _TLS_STRING_KEYS:
            text = _string(value, path)
            if text is not None:
                result.strings[key] = text
        elif key == "cipher_suites":
            result.cipher_suites = _string_list(value, path)
            for name in result.cipher_suites:
                if name not in _TLS12_CIPHERS and name not in _TLS13_CIPHERS:
                    raise WebConfigError(path, f'unknown cipher suite "{name}"')
        elif key == "curve_preferences":
            result.curves = _string_list(value, path)
            for name in result.curves:
                if name not in _CURVES:
                    raise WebConfigError(path, f'unknown curve "{name}"')
            if len(result.curves) > 1:
                raise WebConfigError(
                    path,
                    "this exporter accepts one curve only: Python's ssl module restricts key exchange to "
                    "a single curve (list one, or leave the key out for OpenSSL's defaults)",
                )
        elif key == "prefer_server_cipher_suites":
            flag = _bool(value, path)
            result.prefer_server = True if flag is None else flag
        else:
            raise _unknown_key(prefix, key)
    return result


def _tls_server_config(node: yaml.Node, directory: Path, notes: list[str]) -> TLSServerConfig | None:
    prefix = "tls_server_config"
    keys = _tls_keys(node, prefix)
    strings = keys.strings
    min_version = _tls_version(strings.get("min_version"), f"{prefix}.min_version", TLSVersion.TLS12)
    max_version = _tls_version(strings.get("max_version"), f"{prefix}.max_version", TLSVersion.TLS13)

    # exporter-toolkit turns TLS on when one of these four is set; other keys alone leave plain HTTP.
    if not any(strings.get(key) for key in _TLS_SWITCHES):
        if keys.given:
            notes.append(
                f"{prefix} sets neither cert_file, key_file, client_auth_type nor client_ca_file: "
                "serving plain HTTP, as exporter-toolkit does"
            )
        return None
    for key in ("cert_file", "key_file"):
        if not strings.get(key):
            raise WebConfigError(f"{prefix}.{key}", "missing: required when TLS is configured")
    client_auth = _client_auth(strings.get("client_auth_type", ""), f"{prefix}.client_auth_type")
    ca_file = strings.get("client_ca_file")
    _check_client_ca(prefix, client_auth, ca_file)
    if min_version > max_version:
        raise WebConfigError(
            f"{prefix}.min_version", f"{min_version.name} is above max_version {max_version.name}"
        )
    config = TLSServerConfig(
        cert_file=_join(directory, strings["cert_file"]),
        key_file=_join(directory, strings["key_file"]),
        client_auth_type=client_auth,
        client_ca_file=_join(directory, ca_file) if ca_file else None,
        min_version=min_version,
        max_version=max_version,
        cipher_suites=keys.cipher_suites,
        curve_preferences=keys.curves,
        prefer_server_cipher_suites=keys.prefer_server,
    )
    if config.effective_min_version > max_version:
        raise WebConfigError(
            f"{prefix}.cipher_suites",
            f"lists only TLS 1.3 suites, so no suite is left for max_version {max_version.name}",
        )
    if config.legacy:
        notes.append(
            f"{prefix}.min_version {min_version.name}: TLS 1.0 and 1.1 need OpenSSL security level 0, "
            "which also admits weak keys and SHA-1 signatures in client certificates"
        )
    return config


def _check_client_ca(prefix: str, client_auth: ClientAuth, ca_file: str | None) -> None:
    if ca_file and client_auth is ClientAuth.NO_CLIENT_CERT:
        raise WebConfigError(
            f"{prefix}.client_ca_file",
            "set without a client_auth_type that checks client certificates "
            "(exporter-toolkit: client CA's have been configured without a client auth policy)",
        )
    if not ca_file and client_auth is not ClientAuth.NO_CLIENT_CERT:
        raise WebConfigError(
            f"{prefix}.client_ca_file",
            f"required with client_auth_type {client_auth.value}: without it exporter-toolkit trusts the "
            "system's CAs, which would admit a client certificate from any public CA",
        )


def _http_server_config(node: yaml.Node) -> HTTPServerConfig:
    prefix = "http_server_config"
    http2 = True
    headers: list[tuple[str, str]] = []
    for key, value in _mapping(node, prefix).items():
        if key == "http2":
            flag = _bool(value, f"{prefix}.http2")
            # yaml.v2 leaves a null bool false, and http2 changes nothing here anyway.
            http2 = bool(flag)
        elif key == "headers":
            for name, header_node in _mapping(value, f"{prefix}.headers").items():
                path = f"{prefix}.headers.{name}"
                if name not in _HEADERS:
                    raise WebConfigError(
                        path,
                        "this header cannot be configured (exporter-toolkit allows "
                        + ", ".join(_HEADERS)
                        + ")",
                    )
                text = _string(header_node, path) or ""
                allowed = _HEADERS[name]
                if allowed and text not in allowed:
                    raise WebConfigError(
                        path,
                        f'invalid value "{text}": expected one of ' + ", ".join(f'"{v}"' for v in allowed),
                    )
                headers.append((name, text))
        else:
            raise _unknown_key(prefix, key)
    return HTTPServerConfig(http2, tuple(headers))


def _basic_auth_users(node: yaml.Node) -> dict[str, str]:
    users: dict[str, str] = {}
    for user, value in _mapping(node, "basic_auth_users").items():
        path = f"basic_auth_users.{user}"
        hashed = _string(value, path)
        problem = bcrypt_hash_problem(hashed)
        if problem is not None:
            raise WebConfigError(path, problem)
        assert hashed is not None  # bcrypt_hash_problem(None) is a problem
        users[user] = hashed
    return users


def _client_auth(value: str, path: str) -> ClientAuth:
    if value == "":
        return ClientAuth.NO_CLIENT_CERT
    if value in _UNSUPPORTED_CLIENT_AUTH:
        raise WebConfigError(
            path,
            f"{value} is not supported by this exporter: Python's ssl module cannot accept a client "
            "certificate without verifying it; use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) "
            "with client_ca_file",
        )
    try:
        return ClientAuth(value)
    except ValueError:
        raise WebConfigError(path, f'unknown value "{value}"') from None


def _tls_version(value: str | None, path: str, default: TLSVersion) -> TLSVersion:
    # A null or missing version is the default: yaml.v2 would leave 0, Go's own default, which
    # for a server in Go 1.19 is TLS 1.0; the documented default is the safer reading.
    if value is None:
        return default
    try:
        return TLSVersion[value]
    except KeyError:
        raise WebConfigError(
            path, f'unknown TLS version "{value}" (one of TLS10, TLS11, TLS12, TLS13)'
        ) from None


def _join(directory: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else directory / path


def _unknown_key(prefix: str, key: str) -> WebConfigError:
    path = f"{prefix}.{key}" if prefix else key
    if key in _LATER_KEYS.get(prefix, frozenset()):
        return WebConfigError(
            path,
            "unknown key: later exporter-toolkit versions have it, the one this exporter follows does not",
        )
    return WebConfigError(path, "unknown key")


# --- YAML, read as Go's yaml.v2 UnmarshalStrict reads it -------------------------------------------


# Merges of merges are rare; the bound stops an anchor that merges itself.
_MAX_MERGE_DEPTH = 8


class _Loader(yaml.SafeLoader):
    """SafeLoader's YAML 1.1 resolution (yes/no are booleans, as in yaml.v2), composed to nodes only."""


def _compose(text: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        # Never str(exc): PyYAML quotes the offending line, which may hold a password hash.
        where = (
            f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
            if exc.problem_mark
            else ""
        )
        raise WebConfigError("", f"not valid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise WebConfigError("", f"not valid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()


def _where(node: yaml.Node) -> str:
    return f" (line {node.start_mark.line + 1})"


def _mapping(node: yaml.Node, path: str, depth: int = 0) -> dict[str, yaml.Node]:
    """A mapping's keys (as written) and value nodes; null is an empty mapping, as in yaml.v2."""
    if _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise WebConfigError(path, f"must be a mapping{_where(node)}")
    merged: dict[str, yaml.Node] = {}
    entries: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            # ``<<: *defaults`` (or a list of them): keys written here win, as in yaml.v2.
            if depth > _MAX_MERGE_DEPTH:
                raise WebConfigError(path, f"merge keys nested too deep{_where(key_node)}")
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                for key, value in _mapping(source, path, depth + 1).items():
                    merged.setdefault(key, value)
            continue
        if not isinstance(key_node, yaml.ScalarNode) or _is_null(key_node):
            raise WebConfigError(path, f"keys must be strings{_where(key_node)}")
        key = str(key_node.value)
        if key in entries:
            raise WebConfigError(f"{path}.{key}" if path else key, f"duplicate key{_where(key_node)}")
        entries[key] = value_node
    return {**merged, **entries}


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _string(node: yaml.Node, path: str) -> str | None:
    """A scalar's text as written (yaml.v2 puts a number or boolean in a string field as its text)."""
    if _is_null(node):
        return None
    if not isinstance(node, yaml.ScalarNode):
        raise WebConfigError(path, f"must be a string{_where(node)}")
    return str(node.value)


def _bool(node: yaml.Node, path: str) -> bool | None:
    if _is_null(node):
        return None
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise WebConfigError(path, f"must be true or false{_where(node)}")
    return bool(_Loader.bool_values[str(node.value).lower()])


def _string_list(node: yaml.Node, path: str) -> tuple[str, ...]:
    if _is_null(node):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        raise WebConfigError(path, f"must be a list{_where(node)}")
    items: list[str] = []
    for item in node.value:
        text = _string(item, path)
        if text is None:
            raise WebConfigError(path, f"must be a list of strings, not null{_where(item)}")
        items.append(text)
    return tuple(items)


# --- files ------------------------------------------------------------------------------------------


def _read_bytes(key: str, path: Path, *, what: str = "") -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise WebConfigError(key, f"cannot read {what + ' ' if what else ''}{path}: {exc.strerror}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise WebConfigError(key, f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return data


def _read_text(key: str, path: Path, *, what: str = "") -> str:
    data = _read_bytes(key, path, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WebConfigError(key, f"{path} is not UTF-8 text") from None


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key's pass phrase.
    raise WebConfigError("tls_server_config.key_file", "the private key is encrypted")


def _ssl_reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(exc.args[-1])) if exc.args else type(exc).__name__


# --- reloading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    config: WebConfig
    ssl_context: WebSSLContext | None
    basic_auth: BasicAuth | None


class WebConfigWatcher:
    """The web config as it is now: re-read when the file or a certificate file it names changes.

    Checks at most once per ``check_interval`` seconds, by content (SHA-256) of the config file and
    of the certificate, key and CA files, as read through any symlinks: a Kubernetes Secret update
    swaps a symlink and rotation often touches only the certificate files. A bad file at start raises
    WebConfigError; a bad change later keeps the last good config, logs one error, and shows in
    :attr:`last_reload_successful` until a change loads.
    """

    def __init__(
        self,
        path: Path,
        logger: logging.Logger,
        *,
        check_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._logger = logger
        self._interval = check_interval
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        digest, watched, outcome = self._attempt(())
        if isinstance(outcome, WebConfigError):
            raise outcome
        self._loaded = outcome
        self._digest = digest
        self._watched = watched
        self._last_check = monotonic()
        self._successful = True
        self._success_at = wall_clock()
        self._log_notes(outcome.config)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def last_reload_successful(self) -> bool:
        return self._successful

    @property
    def last_reload_success_timestamp(self) -> float:
        return self._success_at

    def current(self) -> WebConfig:
        return self._current().config

    def ssl_context(self) -> WebSSLContext | None:
        """The context for the current files, built once per change (None: plain HTTP)."""
        return self._current().ssl_context

    def basic_auth(self) -> BasicAuth | None:
        """The checker for the current users, its cache kept until the config changes (None: no auth)."""
        return self._current().basic_auth

    def reload(self) -> bool:
        """Check now, whatever the interval (for SIGHUP); True when a changed config was loaded."""
        with self._lock:
            return self._check()

    def sni_callback(
        self, ssl_object: ssl.SSLObject, server_name: str | None, listener: ssl.SSLContext
    ) -> int | None:
        """For ``SSLContext.sni_callback`` of the listening context: hand each handshake the current one.

        Called for every handshake, with ``server_name`` None when the client sends no SNI (an IP
        address). When the current config changes what a swap cannot (client_auth_type, versions,
        curves: see :attr:`TLSServerConfig.handshake_settings`) or turns TLS off, the handshake is
        refused rather than completed under the old rules: the listener must then be rebuilt with a
        context from :meth:`ssl_context`.
        """
        current = self.ssl_context()
        if current is listener:
            return None
        if current is None or not isinstance(listener, WebSSLContext):
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        if current.handshake_settings != listener.handshake_settings:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        ssl_object.context = current
        return None

    def listener_outdated(self, listener: ssl.SSLContext | None) -> bool:
        """Whether a listener built with ``listener`` (None: plain HTTP) can no longer serve the config.

        True when TLS was switched on or off, or when a setting that :meth:`sni_callback` cannot swap
        in changed: the server should then listen anew with :meth:`ssl_context`.
        """
        current = self.ssl_context()
        if current is None or listener is None:
            return (current is None) != (listener is None)
        return (
            not isinstance(listener, WebSSLContext)
            or current.handshake_settings != listener.handshake_settings
        )

    def _current(self) -> _Loaded:
        with self._lock:
            if self._monotonic() - self._last_check >= self._interval:
                self._check()
            return self._loaded

    def _check(self) -> bool:
        self._last_check = self._monotonic()
        if _digest(self._path, self._watched) == self._digest:
            return False
        digest, watched, outcome = self._attempt(self._watched)
        self._digest, self._watched = digest, watched
        if isinstance(outcome, WebConfigError):
            self._successful = False
            self._logger.error(
                "web config not reloaded, keeping the last good one",
                extra={"file": str(self._path), "error": str(outcome)},
            )
            return False
        self._loaded = outcome
        self._successful = True
        self._success_at = self._wall_clock()
        self._logger.info(
            "web config reloaded",
            extra={
                "file": str(self._path),
                "tls": outcome.config.tls,
                "basic_auth": outcome.basic_auth is not None,
            },
        )
        self._log_notes(outcome.config)
        return True

    def _attempt(self, watched: tuple[Path, ...]) -> tuple[bytes, tuple[Path, ...], _Loaded | WebConfigError]:
        """Load the file; the digest covers what was read, so a failure is retried only on a change."""
        try:
            text = _read_text("", self._path, what="web config")
        except WebConfigError as exc:
            return _digest(self._path, watched), watched, exc
        try:
            config = parse_web_config(text, self._path.parent)
        except WebConfigError as exc:
            return _digest(self._path, watched), watched, exc
        digest = _digest(self._path, config.files)
        try:
            context = config.ssl_context()
        except WebConfigError as exc:
            return digest, config.files, exc
        return digest, config.files, _Loaded(config, context, config.basic_auth())

    def _log_notes(self, config: WebConfig) -> None:
        for note in config.notes:
            self._logger.warning(note, extra={"file": str(self._path)})


def _digest(config_path: Path, files: tuple[Path, ...]) -> bytes:
    """A digest of the config file and ``files`` as they read now; an unreadable file counts by its error."""
    digest = hashlib.sha256()
    for path in _unique((config_path, *files)):
        try:
            data = _read_bytes("", path)
        except WebConfigError as exc:
            data = b"\0error\0" + str(exc).encode()
        digest.update(os.fsencode(path) + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.digest()


def _unique(paths: tuple[Path, ...]) -> Iterator[Path]:
    seen: set[Path] = set()
    for path in paths:
        if path not in seen:
            seen.add(path)
            yield path
