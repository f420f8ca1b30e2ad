"""Responses through PXL's waitress connections arrive whole: a body larger than the socket
buffer (the worker's own send is partial, the main loop sends the rest after the request),
and a streamed one past waitress's high-water mark (the worker waits for the main loop to
drain it while the request is still running); a small body goes out with its header in
one send."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify
from waitress import wasyncore
from waitress.server import create_server

from pxl_prover.waitress_adapter import adapt_channels

BIG = 8 * 1024 * 1024


@pytest.fixture
def port() -> Iterator[int]:
    app = Flask("adapter-test")

    @app.get("/big")
    def big() -> Response:
        return Response(b"x" * BIG, mimetype="application/octet-stream")

    @app.route("/small", methods=["GET", "HEAD"])
    def small() -> Response:
        return jsonify({"verdict": "proved", "certificate": "x" * 800})

    @app.get("/nothing")
    def nothing() -> Response:
        return Response(status=204)

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
    adapt_channels(server, 1024)
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


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every send on a waitress connection."""
    sizes: list[int] = []
    original = wasyncore.dispatcher.send

    def send(self, data, do_close=True):  # noqa: ANN001, ANN202
        sent = original(self, data, do_close)
        sizes.append(sent)
        return sent

    monkeypatch.setattr(wasyncore.dispatcher, "send", send)
    return sizes


def test_a_small_response_goes_out_in_one_send_with_its_header(port: int, sends) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/small")
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/json"
        assert int(response.getheader("Content-Length")) == len(body)
        assert body.startswith(b'{"certificate":"xxx') or body.startswith(b'{"verdict"')
    conn.close()
    deadline = time.monotonic() + 5  # the last send is counted just after it returns
    while len(sends) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(sends) == 3
    assert all(size > len(body) for size in sends)


def test_responses_without_a_body_are_unchanged(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("HEAD", "/small")
    head = conn.getresponse()
    assert head.status == 200
    assert head.read() == b""
    conn.request("GET", "/nothing")
    nothing = conn.getresponse()
    assert nothing.status == 204
    assert nothing.read() == b""
    conn.request("GET", "/small")  # the connection is still in step
    assert conn.getresponse().read().endswith(b"}\n")
    conn.close()
