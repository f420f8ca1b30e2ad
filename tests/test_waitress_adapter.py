"""Responses through PXL's waitress connections arrive whole: a body larger than the socket
buffer (the worker's own send is partial, the main loop sends the rest after the request),
and a streamed one past waitress's high-water mark (the worker waits for the main loop to
drain it while the request is still running)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response
from waitress.server import create_server

from pxl_prover.waitress_adapter import json_errors

BIG = 8 * 1024 * 1024


@pytest.fixture
def port() -> Iterator[int]:
    app = Flask("adapter-test")

    @app.get("/big")
    def big() -> Response:
        return Response(b"x" * BIG, mimetype="application/octet-stream")

    @app.get("/stream")
    def stream() -> Response:
        return Response((b"y" * BIG for _ in range(4)), mimetype="application/octet-stream")

    server = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=2,
        outbuf_high_watermark=BIG // 2,
        max_request_body_size=1025,  # as `Server` sets it: refuses at >= this
    )
    json_errors(server, 1024)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    yield int(server.effective_port)
    server.close()


def fetch(port: int, path: str, times: int = 3) -> list[bytes]:
    """`path` `times` times over one keep-alive connection, each read only after the
    server has filled the socket's buffers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    bodies = []
    for _ in range(times):
        conn.request("GET", path)
        time.sleep(0.3)
        response = conn.getresponse()
        assert response.status == 200
        bodies.append(response.read())
    conn.close()
    return bodies


def test_a_body_larger_than_the_socket_buffer_arrives_whole(port: int) -> None:
    assert [len(body) for body in fetch(port, "/big")] == [BIG] * 3


def test_a_stream_past_the_high_water_mark_arrives_whole(port: int) -> None:
    assert [len(body) for body in fetch(port, "/stream")] == [4 * BIG] * 3


def test_a_refused_body_still_gets_json_from_the_same_connections(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/big", body=b"z" * 4096, headers={"Content-Type": "text/plain"})
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert b"MAX_REQUEST_SIZE (1024 bytes)" in response.read()
