"""What PXL changes in waitress: JSON refusals, oversized bodies read off, probes apart.

Waitress refuses a request before the app sees it when the body is over its limit (or
the framing is broken), with a text/plain page; and for a body over the limit it closes
the socket while the client is still sending, so the kernel resets the connection and
the client never reads the answer. Here the refused body is read and dropped (up to
`MAX_DRAIN_BYTES`) before the error is sent, and the error is the same JSON object the
app gives for every other mistake.

Waitress runs every request on one pool of threads, first come first served, so a probe
that arrives behind a burst waits for the burst. `GET /health` and `GET /ready` go to
threads of their own instead: Kubernetes' probes never wait behind proofs.

Waitress's main loop asks each connection whether it has output to send; while a request
runs, its worker thread sends what it writes itself (and the loop cannot take the output
lock the worker holds), so a loop woken by the socket being writable only spins: measured
under 8 clients of uncached proofs, about 20 empty `select` calls per request, each taking
the GIL from the worker it waits for. A connection with a request in progress is therefore
not polled for writing unless its output is past the high-water mark (the worker then waits
for the loop to drain it); after the request the worker wakes the loop, which sends what is
left, as before.

Waitress sends a response's header as soon as it is built and the body in a send of its
own; a response whose body is one piece of known length (every JSON answer here) goes out
with its header in one send instead: one system call, and one release of the GIL, fewer
per request.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

# Past this a refused body is not read: the connection is closed at once.
MAX_DRAIN_BYTES = 1 << 30
PROBE_PATHS = frozenset({"/health", "/ready"})
PROBE_THREADS = 2
# A body up to this size goes out in one send with its header (a larger one is sent in
# several sends anyway, and is not copied to be joined to its header).
ONE_SEND_MAX_BYTES = 256 * 1024


class _DrainingParser(HTTPRequestParser):
    """Reads a refused fixed-length body and drops it, so the 413 reaches the client."""

    _drain = 0

    def received(self, data: bytes) -> int:
        if self._drain:
            taken = min(len(data), self._drain)
            self._drain -= taken
            self.completed = not self._drain
            return taken
        consumed = super().received(data)
        if (
            self.completed
            and isinstance(self.error, RequestEntityTooLarge)
            and not self.chunked
            and 0 < self.content_length <= MAX_DRAIN_BYTES
        ):
            self._drain, self.completed = self.content_length, False
        return consumed


class _Channel(HTTPChannel):
    """A waitress connection that the main loop does not poll for writing while a worker
    thread is serving it (see the module docstring)."""

    def writable(self) -> bool:
        if (
            self.requests
            and not self.will_close
            and not self.close_when_flushed
            and self.total_outbufs_len <= self.adj.outbuf_high_watermark
        ):
            return False
        return bool(super().writable())


class _OneSendTask(WSGITask):
    """Sends a body of known length that comes in one piece together with its header."""

    def write(self, data: bytes) -> None:
        whole = (
            not self.wrote_header
            and self.complete
            and 0 < len(data) <= ONE_SEND_MAX_BYTES
            and self.has_body
            and self.content_length == len(data)
        )
        if not whole:
            super().write(data)
            return
        header = self.build_response_header()
        self.wrote_header = True
        self.content_bytes_written = len(data)
        self.channel.write_soon(header + data)


class _JsonErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        message = str(error.body)
        if isinstance(error, RequestEntityTooLarge):
            limit = self.channel.max_body_bytes
            message = f"the body exceeds MAX_REQUEST_SIZE ({limit} bytes)"
        code = error.reason.lower().replace(" ", "_")
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def adapt_channels(server: Any, max_body_bytes: int) -> None:
    """Make `server` (a waitress server, or a multi-socket one) refuse with JSON errors and
    read off refused bodies (bodies over `max_body_bytes` are refused with a 413), send a
    whole response in one piece, and not poll a connection busy with a request for writing."""
    channel = type(
        "PxlChannel",
        (_Channel,),
        {
            "parser_class": _DrainingParser,
            "task_class": _OneSendTask,
            "error_task_class": _JsonErrorTask,
            "max_body_bytes": max_body_bytes,
        },
    )
    for listener in _listeners(server):
        listener.channel_class = channel


def _listeners(server: Any) -> list[Any]:
    return [x for x in [server, *getattr(server, "map", {}).values()] if hasattr(x, "add_task")]


def probes_apart(server: Any, threads: int) -> ThreadedTaskDispatcher:
    """Serve `GET /health` and `GET /ready` of `server` on `threads` threads of their own;
    the caller shuts the returned dispatcher down with the server."""
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    for listener in _listeners(server):
        listener.add_task = _router(listener.add_task, dispatcher)
    return dispatcher


def _router(default: Any, probes: ThreadedTaskDispatcher) -> Any:
    def add_task(channel: Any) -> None:
        request = channel.requests[0] if channel.requests else None
        probe = (
            request is not None
            and not request.error
            and request.command == "GET"
            and request.path in PROBE_PATHS
        )
        (probes.add_task if probe else default)(channel)

    return add_task
