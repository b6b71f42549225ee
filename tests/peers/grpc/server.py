"""gRPC upstream peer for Nexora Gate integration tests.

A real grpcio server (cleartext HTTP/2 with prior knowledge, i.e. h2c; or,
given --tls-cert and --tls-key, HTTP/2 over TLS with ALPN h2) that the
gateway proxies to, so the tests exercise the gateway against the HTTP/2
framing, trailers and flow control of an actual gRPC stack rather than a
hand-rolled imitation. There is no protoc step: every method is a generic
handler over raw bytes, so messages are opaque to grpcio and the tests choose
their bodies (JSON text, or filler bytes of a given size).

Services (see README.md for the contract):
  shop.Orders/Get      unary-unary   -> {"method","metadata","size"}
  shop.Orders/Watch    unary-stream  request {"count":N,"size":S} -> N x S bytes
  shop.Orders/Upload   stream-unary  -> {"count","bytes","metadata"}
  shop.Orders/Chat     stream-stream echoes every message as it arrives
  shop.Orders/Stats    unary-unary   -> {"calls": N}  (calls received before this one)
  shop.Admin/Purge     unary-unary   like Get, with "method":"Purge"

stdout carries exactly one line, `ready <port>`, once serving; logs go to
stderr. Ends with status 0 on SIGTERM/SIGINT and when its stdin reaches EOF,
so a test process that dies without killing it does not leave it behind
(pass --ignore-stdin to run it by hand in the background).
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fields import grouped  # noqa: E402  (the peers' shared helper, found by path)

HOST = "127.0.0.1"
MAX_MESSAGE = 16 * 1024 * 1024
TRAILER = (("x-served-by", "grpc-peer"),)
# Sent as response headers by every call that gets as far as replying; calls
# refused by the peer (abort) stay Trailers-Only responses.
INITIAL = (("x-peer", "grpc-peer"),)


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self._n = 0

    def bump(self):
        """Counts one call; returns the count before it."""
        with self._lock:
            self._n += 1
            return self._n - 1


CALLS = Counter()


def as_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def json_object(data):
    """The request parsed as a JSON object, or None when it is not one."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def test_knobs(request, context):
    """Optional knobs in a JSON request body, for status and deadline tests:
    {"sleep_ms": N} waits N ms first; {"abort": {"code": "NOT_FOUND",
    "details": "..."}} ends the call with that status instead of a reply."""
    obj = json_object(request)
    if obj is None:
        return
    sleep_ms = obj.get("sleep_ms")
    if isinstance(sleep_ms, (int, float)) and sleep_ms > 0:
        time.sleep(min(sleep_ms, 60_000) / 1000)
    abort = obj.get("abort")
    if isinstance(abort, dict):
        code = grpc.StatusCode.__members__.get(str(abort.get("code", "")).upper())
        if code is None or code is grpc.StatusCode.OK:
            code = grpc.StatusCode.UNKNOWN
        context.set_trailing_metadata(TRAILER)
        context.abort(code, str(abort.get("details", "aborted by request")))


def unary_echo_info(name):
    def handler(request, context):
        CALLS.bump()
        test_knobs(request, context)
        context.send_initial_metadata(INITIAL)
        context.set_trailing_metadata(TRAILER)
        return as_json(
            {
                "method": name,
                "metadata": grouped(context.invocation_metadata()),
                "size": len(request),
            }
        )

    return handler


def watch(request, context):
    CALLS.bump()
    context.set_trailing_metadata(TRAILER)
    obj = json_object(request)
    count = obj.get("count") if obj else None
    size = obj.get("size", 0) if obj else None
    if (
        not isinstance(count, int)
        or not isinstance(size, int)
        or isinstance(count, bool)
        or isinstance(size, bool)
        or not 0 <= count <= 100_000
        or not 0 <= size <= MAX_MESSAGE
    ):
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            'Watch wants {"count": 0..100000, "size": 0..16777216}',
        )
    context.send_initial_metadata(INITIAL)
    chunk = b"x" * size
    for _ in range(count):
        if not context.is_active():
            return
        yield chunk


def upload(request_iterator, context):
    CALLS.bump()
    count = 0
    total = 0
    for message in request_iterator:
        count += 1
        total += len(message)
    context.send_initial_metadata(INITIAL)
    context.set_trailing_metadata(TRAILER)
    return as_json(
        {
            "count": count,
            "bytes": total,
            "metadata": grouped(context.invocation_metadata()),
        }
    )


def chat(request_iterator, context):
    CALLS.bump()
    context.send_initial_metadata(INITIAL)
    context.set_trailing_metadata(TRAILER)
    for message in request_iterator:
        yield message


def stats(_request, context):
    # Counts itself too, but answers with the calls received before it.
    calls = CALLS.bump()
    context.send_initial_metadata(INITIAL)
    context.set_trailing_metadata(TRAILER)
    return as_json({"calls": calls})


def build_server(port, credentials=None):
    """The server bound to HOST:port (0 = any free port), and the bound port.
    `credentials` (grpc.ServerCredentials) makes it listen with TLS; None,
    cleartext h2c."""
    # Raw bytes in and out: no (de)serializers.
    orders = grpc.method_handlers_generic_handler(
        "shop.Orders",
        {
            "Get": grpc.unary_unary_rpc_method_handler(unary_echo_info("Get")),
            "Watch": grpc.unary_stream_rpc_method_handler(watch),
            "Upload": grpc.stream_unary_rpc_method_handler(upload),
            "Chat": grpc.stream_stream_rpc_method_handler(chat),
            "Stats": grpc.unary_unary_rpc_method_handler(stats),
        },
    )
    admin = grpc.method_handlers_generic_handler(
        "shop.Admin",
        {"Purge": grpc.unary_unary_rpc_method_handler(unary_echo_info("Purge"))},
    )
    server = grpc.server(
        # Every streaming call holds a worker for its lifetime.
        futures.ThreadPoolExecutor(max_workers=32),
        handlers=(orders, admin),
        options=(
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.so_reuseport", 0),
        ),
    )
    try:
        if credentials is None:
            bound = server.add_insecure_port(f"{HOST}:{port}")
        else:
            bound = server.add_secure_port(f"{HOST}:{port}", credentials)
    except RuntimeError:  # grpcio >= 1.56 raises instead of returning 0
        bound = 0
    if bound == 0:
        why = "" if credentials is None else " with TLS (or --tls-cert/--tls-key are not a valid PEM pair)"
        raise SystemExit(f"grpc peer: cannot listen on {HOST}:{port}{why}")
    return server, bound


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 = any free port")
    parser.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="do not exit when stdin reaches EOF (for running by hand)",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        help="certificate chain (PEM file) to serve TLS with; needs --tls-key",
    )
    parser.add_argument(
        "--tls-key", metavar="PEM", help="private key (PEM file) for --tls-cert"
    )
    args = parser.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together (both or neither)")
    credentials = None
    if args.tls_cert is not None:
        try:
            with open(args.tls_key, "rb") as f:
                key = f.read()
            with open(args.tls_cert, "rb") as f:
                cert = f.read()
        except OSError as err:
            parser.error(f"cannot read TLS key/certificate: {err}")
        # grpc's TLS listener negotiates ALPN h2 itself.
        credentials = grpc.ssl_server_credentials([(key, cert)])

    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server, port = build_server(args.port, credentials)
    server.start()

    if not args.ignore_stdin:

        def watch_stdin():
            # os.read, not sys.stdin: a daemon thread parked inside the
            # buffered reader holds its lock and aborts interpreter shutdown.
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            stop.set()

        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

    print(f"ready {port}", flush=True)

    # Short waits so signal handlers run promptly in the main thread.
    while not stop.wait(0.2):
        pass
    server.stop(grace=1).wait(3)


if __name__ == "__main__":
    main()
