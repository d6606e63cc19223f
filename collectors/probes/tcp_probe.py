"""The TCP prober: blackbox_exporter's tcp module without query/response: connect, optionally TLS."""

import time
from dataclasses import dataclass

from collectors.probes.addresses import split_host_port
from collectors.probes.failures import PROBE_ERRORS, describe_failure
from collectors.probes.model import Deadline, ProbeResult, Trace
from collectors.probes.network import Dialer


@dataclass(frozen=True)
class TcpSettings:
    dialer: Dialer
    tls: bool

    def probe(self, target: str, timeout: float) -> ProbeResult:
        """Success when the connection (and handshake) completes. ``target``: host:port or a URL."""
        started = time.perf_counter()
        trace = Trace()
        failure = ""
        try:
            host, port = split_host_port(target)
            connection = self.dialer.open(host, port, self.tls, Deadline(timeout), trace=trace)
            connection.sock.close()
            trace.cert_expiry = connection.cert_expiry
        except PROBE_ERRORS as exc:
            failure = describe_failure(exc)
        return ProbeResult(
            prober="tcp",
            success=not failure,
            duration=time.perf_counter() - started,
            cert_expiry=trace.cert_expiry,
            failure=failure,
        )
