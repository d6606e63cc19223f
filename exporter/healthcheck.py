"""``python -m exporter.healthcheck [PORT]``: the container's HEALTHCHECK, with or without TLS and auth.

The image has no curl. A process that answers ``/-/healthy`` is alive; behind basic auth it answers
401 instead, which proves the same, and behind TLS the check speaks TLS without verifying the
certificate (it only asks whether this process answers, on loopback). When client certificates are
required, the server's TLS alert refusing the check is that answer.
"""

import http.client
import ssl
import sys

_TIMEOUT_SECONDS = 4.0
_ALIVE = (200, 401)


def answers(port: int) -> bool:
    for tls in (False, True):
        try:
            if _status(port, tls) in _ALIVE:
                return True
        except ssl.SSLError:
            return tls  # a TLS server refused us: alive, and asking for a client certificate
        except (OSError, http.client.HTTPException):
            continue
    return False


def _status(port: int, tls: bool) -> int:
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=_TIMEOUT_SECONDS, context=context
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_TIMEOUT_SECONDS)
    try:
        conn.request("GET", "/-/healthy")
        return conn.getresponse().status
    finally:
        conn.close()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9091
    sys.exit(0 if answers(port) else 1)


if __name__ == "__main__":
    main()
