"""WebSocket upstream peer for Nexora Gate integration tests.

A real `websockets` echo server behind the gateway, so the tests check the
gateway's Upgrade handling against an actual RFC 6455 implementation. On each
accepted connection it first sends one text message, the JSON
{"path": request path (with query), "headers": {lower-case name: value, or a
list when repeated}} of the handshake request *as it reached the upstream*,
then echoes every message back (text as text, binary as binary).

A plain HTTP GET /stats (no Upgrade) answers 200 {"handshakes": N}: the number
of accepted WebSocket handshakes, so a test can prove a refused upgrade never
reached this server.

stdout carries exactly one line, `ready <port>`, once listening; logs go to
stderr. Ends with status 0 on SIGTERM/SIGINT and when its stdin reaches EOF,
so a test process that dies without killing it does not leave it behind
(pass --ignore-stdin to run it by hand in the background).
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fields import grouped  # noqa: E402  (the peers' shared helper, found by path)

HOST = "127.0.0.1"
MAX_MESSAGE = 16 * 1024 * 1024

handshakes = 0


def process_request(connection, request):
    """Answers GET /stats without upgrading; everything else goes on to the
    WebSocket handshake (a non-upgrade request elsewhere gets 426)."""
    if request.path.split("?", 1)[0] == "/stats" and "upgrade" not in request.headers:
        body = json.dumps({"handshakes": handshakes}).encode("utf-8")
        headers = Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        )
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)
    return None


async def handler(ws):
    global handshakes
    handshakes += 1
    first = {"path": ws.request.path, "headers": grouped(ws.request.headers.raw_items())}
    try:
        await ws.send(json.dumps(first))
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def run(port, ignore_stdin):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if not ignore_stdin:

        def watch_stdin():
            # os.read, not sys.stdin: a daemon thread parked inside the
            # buffered reader holds its lock and aborts interpreter shutdown.
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

    async with serve(
        handler,
        HOST,
        port,
        process_request=process_request,
        max_size=MAX_MESSAGE,
        # permessage-deflate stays on (the default): it is negotiated only
        # when the client offers it, as browsers do.
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"ready {bound}", flush=True)
        await stop.wait()
        server.close(close_connections=True)
        try:
            await asyncio.wait_for(server.wait_closed(), 3)
        except asyncio.TimeoutError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 = any free port")
    parser.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="do not exit when stdin reaches EOF (for running by hand)",
    )
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    asyncio.run(run(args.port, args.ignore_stdin))


if __name__ == "__main__":
    main()
