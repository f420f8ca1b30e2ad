"""Waitress's own refusals as JSON errors, and an oversized body read off before the 413.

Waitress refuses a request before the app sees it when the body is over its limit (or
the framing is broken), with a text/plain page; and for a body over the limit it closes
the socket while the client is still sending, so the kernel resets the connection and
the client never reads the answer. Here the refused body is read and dropped (up to
`MAX_DRAIN_BYTES`) before the error is sent, and the error is the same JSON object the
app gives for every other mistake.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

# Past this a refused body is not read: the connection is closed at once.
MAX_DRAIN_BYTES = 1 << 30


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


def json_errors(server: Any, max_body_bytes: int) -> None:
    """Make `server` (a waitress server, or a multi-socket one) refuse with JSON errors and
    read off refused bodies; bodies over `max_body_bytes` are refused with a 413."""
    channel = type(
        "PxlChannel",
        (HTTPChannel,),
        {
            "parser_class": _DrainingParser,
            "error_task_class": _JsonErrorTask,
            "max_body_bytes": max_body_bytes,
        },
    )
    for listener in [server, *getattr(server, "map", {}).values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = channel
