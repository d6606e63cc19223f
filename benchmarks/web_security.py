"""What TLS and basic auth cost a scrape, at 10k replicas, against plain HTTP in the same run.

    .venv/bin/python benchmarks/web_security.py [--replicas 10000] [--scrapes 200]

One simulated fleet; the exporter started four times against it, one after the other: plain HTTP,
basic auth, TLS (``--web.config.file`` with a certificate), and TLS with basic auth (a cost-10
bcrypt hash, as ``htpasswd -B`` makes). Each is scraped the way Prometheus scrapes (one keep-alive connection,
OpenMetrics, gzip): p50 and p99 of the whole scrape. Then the price of a new connection (TCP and,
with TLS, the handshake) and, with basic auth on, the scrape latency while 8 clients hammer the
exporter with wrong passwords (each a new bcrypt). Compare within one run: the machine is shared.
"""

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bcrypt
import requests
import trustme
import yaml
from scrape import DEMO_PRICING, EXPORTER, HEADERS, free_port, rss_mib, stop

from simulator import Simulator

PASSWORD = "bench-password"


Auth = tuple[str, str] | None


def _start(argv: list[str], url: str, verify: str | bool, auth: Auth) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", verify=verify, auth=auth, timeout=5).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError("exporter did not become ready")


def _scrape(session: requests.Session, url: str, **kwargs: Any) -> None:
    """One scrape, its body read as it crosses the wire: decompressing it is the scraper's cost."""
    response = session.get(url, headers=HEADERS, timeout=60, stream=True, **kwargs)
    response.raise_for_status()
    response.raw.read(decode_content=False)


def _latencies(session: requests.Session, url: str, scrapes: int, **kwargs: Any) -> list[float]:
    _scrape(session, url, **kwargs)  # warm-up
    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        _scrape(session, url, **kwargs)
        times.append(time.perf_counter() - started)
    return sorted(times)


def _row(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
    }


def _new_connections(url: str, scrapes: int, verify: str | bool, auth: Auth) -> list[float]:
    """Each scrape on a fresh connection: what a scraper without keep-alive pays."""
    times = []
    for _ in range(max(5, scrapes // 5)):
        started = time.perf_counter()
        with requests.Session() as session:
            _scrape(session, url, verify=verify, auth=auth)
        times.append(time.perf_counter() - started)
    return sorted(times)


def _under_password_flood(url: str, scrapes: int, verify: str | bool, auth: tuple[str, str]) -> list[float]:
    stop_flood = threading.Event()
    attempts = [0]

    def flood(worker: int) -> None:
        with requests.Session() as session:
            while not stop_flood.is_set():
                guess = ("prometheus", f"guess-{worker}-{attempts[0]}")
                attempts[0] += 1
                session.get(url, timeout=60, verify=verify, auth=guess)

    flooders = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(8)]
    for thread in flooders:
        thread.start()
    try:
        with requests.Session() as session:
            return _latencies(session, url, scrapes, verify=verify, auth=auth)
    finally:
        stop_flood.set()
        print(f"(wrong passwords tried during the measurement: {attempts[0]})")
        for thread in flooders:
            thread.join(70)


def run(replicas: int, scrapes: int) -> list[tuple[str, dict[str, float]]]:
    services = max(1, replicas // 100)
    rows: list[tuple[str, dict[str, float]]] = []
    fleet = Simulator(services=services, replicas_per_service=replicas // services, seed=1)
    with fleet as sim, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
        tls = {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.pem"}}
        (directory / "tls.yml").write_text(yaml.safe_dump(tls))
        (directory / "auth.yml").write_text(yaml.safe_dump({"basic_auth_users": {"prometheus": hashed}}))
        with_auth = {**tls, "basic_auth_users": {"prometheus": hashed}}
        (directory / "tls-auth.yml").write_text(yaml.safe_dump(with_auth))
        config = directory / "config.yml"
        skyserve = {"endpoint": sim.url, "interval": "5s", "timeout": "5s"}
        config.write_text(yaml.safe_dump({"collectors": {"skyserve": skyserve}, "pricing": DEMO_PRICING}))
        ca_file = str(directory / "ca.pem")
        variants: list[tuple[str, list[str], str, str | bool, Auth]] = [
            ("plain HTTP", [], "http", True, None),
            (
                "basic auth",
                ["--web.config.file", str(directory / "auth.yml")],
                "http",
                True,
                ("prometheus", PASSWORD),
            ),
            ("TLS", ["--web.config.file", str(directory / "tls.yml")], "https", ca_file, None),
            (
                "TLS + basic auth",
                ["--web.config.file", str(directory / "tls-auth.yml")],
                "https",
                ca_file,
                ("prometheus", PASSWORD),
            ),
        ]
        for name, extra, scheme, verify, auth in variants:
            port = free_port()
            url = f"{scheme}://127.0.0.1:{port}"
            argv = [str(EXPORTER), "--config", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
            proc = _start([*argv, "--log.level", "warning", *extra], url, verify, auth)
            try:
                with requests.Session() as session:
                    times = _latencies(session, f"{url}/metrics", scrapes, verify=verify, auth=auth)
                rows.append((f"{name}, keep-alive", _row(times)))
                fresh = _new_connections(f"{url}/metrics", scrapes, verify, auth)
                rows.append((f"{name}, new connection each scrape", _row(fresh)))
                if auth is not None:
                    flooded = _under_password_flood(f"{url}/metrics", scrapes, verify, auth)
                    rows.append((f"{name}, keep-alive, 8 clients guessing passwords", _row(flooded)))
                rows[-1][1]["rss_mib"] = rss_mib(proc.pid)
            finally:
                stop(proc)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    rows = run(args.replicas, args.scrapes)
    base = rows[0][1]["p50_ms"]
    print(f"| {args.replicas} replicas | p50 ms | p99 ms | p50 vs plain keep-alive | exporter RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, row in rows:
        rss = f"{row['rss_mib']:.0f}" if "rss_mib" in row else ""
        print(f"| {name} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['p50_ms'] / base:.2f}x | {rss} |")


if __name__ == "__main__":
    main()
