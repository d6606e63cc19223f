"""Run the simulator in the foreground: ``python -m simulator --services 3 --replicas 4``."""

import argparse
import threading

from simulator.controller import ControllerState
from simulator.keepalive import DEFAULT_KEEP_ALIVE_TIMEOUT
from simulator.server import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=4, help="replicas per service")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="API server port (0: any free port)")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between fleet steps (0: frozen)")
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN'")
    parser.add_argument("--basic-auth", default=None, metavar="USER:PASSWORD", help="require HTTP basic auth")
    parser.add_argument("--request-delay", type=float, default=0.0, help="seconds each request takes")
    parser.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        help="seconds an idle API connection stays open",
    )
    parser.add_argument(
        "--controller",
        choices=[state.value for state in ControllerState],
        default=None,
        help="the serve controller's state (default: UP with services, absent without)",
    )
    parser.add_argument(
        "--pools", type=int, default=0, help="jobs pools the jobs controller keeps (0: no jobs controller)"
    )
    parser.add_argument(
        "--no-pool-route", action="store_true", help="answer /jobs/pool_status 404, as a server without pools"
    )
    return parser


def _basic_auth(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    user, colon, password = text.partition(":")
    if not colon:
        raise SystemExit("--basic-auth must be USER:PASSWORD")
    return user, password


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    simulator = Simulator(
        services=args.services,
        replicas_per_service=args.replicas,
        seed=args.seed,
        host=args.host,
        port=args.port,
        tick_seconds=args.tick or None,
        token=args.token,
        request_delay=args.request_delay,
        basic_auth=_basic_auth(args.basic_auth),
        keep_alive_timeout=args.keep_alive_timeout,
        controller=None if args.controller is None else ControllerState(args.controller),
        pools=args.pools,
        pool_route=not args.no_pool_route,
    )
    with simulator:
        print(f"SkyPilot API server: {simulator.url}", flush=True)
        print(f"data plane:          {simulator.data_plane_url}", flush=True)
        print(f"try: export SKYPILOT_API_SERVER_ENDPOINT={simulator.url}   (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
