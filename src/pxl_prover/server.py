"""`pxl-prover serve`: configuration, banner, waitress, and a graceful SIGTERM.

On SIGTERM (or Ctrl-C) the server stops accepting connections and reports unready, lets
requests in flight finish (bounded by PXL_SHUTDOWN_GRACE, by default longer than the
longest request), then ends the Coq sessions, so a rolling update never cuts a proof off
halfway. A request still running when the grace runs out answers a JSON 503, never a
closed connection.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from waitress.server import create_server

from pxl_prover import __version__
from pxl_prover.app import create_app
from pxl_prover.config import (
    ConfigError,
    ServerConfig,
    add_arguments,
    configure_logging,
    load_config,
)
from pxl_prover.service import ProverService
from pxl_prover.waitress_adapter import PROBE_THREADS, adapt_channels, probes_apart

log = logging.getLogger("pxl_prover.server")


class InFlight:
    """WSGI middleware counting requests in progress, so shutdown can wait for them."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._cond:
            self.count += 1
        try:
            body = self.wsgi_app(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        finally:
            with self._cond:
                self.count -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


# After the grace, how long requests still running get to turn into 503 answers.
CUT_ANSWER_S = 5.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pxl-prover",
        description="PXL proof server. Settings come from the environment (docs/configuration.md); "
        "flags override them.",
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the HTTP server (the default)")
    add_arguments(serve)
    parser.add_argument("--version", action="version", version=f"pxl-prover {__version__}")
    top_level = {"-h", "--help", "--version"}
    implied = not argv or (argv[0].startswith("-") and argv[0] not in top_level)
    return parser.parse_args(["serve", *argv] if implied else argv)


def banner(config: ServerConfig, service: ProverService, port: int) -> str:
    hmac = "on" if config.enable_hmac_auth else "off"
    rotation = " (+ previous key)" if config.hmac_secret_key_previous else ""
    return (
        f"PXL prover {__version__} on http://{config.host}:{port}\n"
        f"  kernel      {service.kernel_hash or '(unreadable)'}  ({service.kernel_dir})\n"
        f"  expected    {config.expected_kernel_hash or '(any)'}\n"
        f"  pool        {config.pool_size} Coq sessions, wait {config.pool_wait_s:g} s, "
        f"recycle after {config.session_max_uses} checks\n"
        f"  admission   {config.pool_size} running + {config.max_queue} queued, "
        f"{config.waitress_threads} threads, shutdown grace {config.grace_s:g} s\n"
        f"  cache       {config.cache_size} entries, TTL {config.cache_ttl_s:g} s\n"
        f"  HMAC auth   {hmac}{rotation}\n"
        f"  limits      body {config.max_request_size} B, timeout {config.default_timeout_ms} ms "
        f"(max {config.max_timeout_ms} ms), batch {config.max_batch}"
    )


class Server:
    """A waitress server for one service, with a drain-then-stop shutdown."""

    def __init__(self, config: ServerConfig, service: ProverService) -> None:
        self.config = config
        self.service = service
        self.app = create_app(service)
        self.in_flight = InFlight(self.app.wsgi_app)
        self.app.wsgi_app = self.in_flight  # type: ignore[method-assign]
        self.waitress: Any = create_server(
            self.app,
            host=config.host,
            port=config.port,
            threads=config.waitress_threads,
            channel_timeout=int(config.connection_timeout_s),
            max_request_body_size=config.max_request_size + 1,  # refuses at >= this
            ident="pxl-prover",
            clear_untrusted_proxy_headers=True,
        )
        adapt_channels(self.waitress, config.max_request_size)
        self.probes = probes_apart(self.waitress, PROBE_THREADS)
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return int(self.waitress.effective_port)

    def serve_forever(self) -> None:
        """Run the waitress loop in this thread until `shutdown` ends it."""
        try:
            self.waitress.run()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting, drain in-flight requests, stop waitress, end the Coq sessions."""
        grace = self.config.grace_s
        log.info("shutting down: no new connections, draining (up to %g s)", grace)
        self.service.draining = True
        self.waitress.trigger.pull_trigger(self._stop_listening)
        drained = self.in_flight.wait_idle(grace)
        if not drained:
            log.warning(
                "%d request(s) still running after %g s: answering them 503",
                self.in_flight.count,
                grace,
            )
            self.service.cut_short()
            self.in_flight.wait_idle(CUT_ANSWER_S)
        time.sleep(0.2)  # let waitress flush the last responses
        self.waitress.trigger.pull_trigger(self._close_all)
        self._stopped.wait(5)
        self.waitress.task_dispatcher.shutdown(timeout=1)
        self.probes.shutdown(timeout=1)
        self.service.close(timeout_s=5)
        log.info("stopped")

    def _stop_listening(self) -> None:
        from waitress import wasyncore

        wasyncore.dispatcher.close(self.waitress)

    def _close_all(self) -> None:
        from waitress import wasyncore

        wasyncore.close_all(self.waitress._map)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `pxl-prover` and `python -m pxl_prover`."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    overrides = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        config = load_config(overrides=overrides)
    except ConfigError as exc:
        print(f"pxl-prover: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config)
    service = ProverService(config)
    try:
        server = Server(config, service)
    except OSError as exc:
        print(f"pxl-prover: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    print(banner(config, service, server.port), flush=True)
    service.start()
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    loop = threading.Thread(target=server.serve_forever, name="pxl-waitress", daemon=True)
    loop.start()
    while not stop.wait(0.5):
        if not loop.is_alive():
            log.error("the server loop ended unexpectedly")
            service.close()
            return 1
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
