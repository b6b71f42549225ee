"""gRPC client peer for Nexora Gate integration tests.

Makes exactly one call with a real grpcio client over a cleartext HTTP/2
channel (h2c, prior knowledge), or over TLS when given --tls-ca, and prints ONE JSON line describing what came
back, so a Rust test can drive it as a subprocess and assert on status codes,
metadata and bodies without a gRPC stack of its own. No protoc: the method is
called by its full path with raw bytes in and out.

Exit status is 0 whatever the gRPC outcome (the outcome is in the JSON);
2 for usage errors (bad arguments, or metadata grpcio refuses to send).

Output:
  {"code": "OK" | "UNAUTHENTICATED" | ..., "details": str | null,
   "responses": [parsed JSON value, or {"len": n} when not JSON text, ...],
   "initial": {key: value}, "trailing": {key: value}}
"""

import argparse
import json
import os
import sys

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fields import grouped  # noqa: E402  (the peers' shared helper, found by path)

MAX_MESSAGE = 16 * 1024 * 1024
KINDS = ("unary", "server_stream", "client_stream", "bidi")


def describe(body):
    """A response body as its JSON value when it is JSON text, else its size."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"len": len(body)}


def outcome(call, responses, error=None):
    """The JSON line for a finished call (`call` may be an RpcError)."""
    code = call.code() if call is not None else None
    details = call.details() if call is not None else None
    if error is not None and code is None:
        code, details = grpc.StatusCode.UNKNOWN, str(error)
    return {
        "code": code.name if code is not None else "UNKNOWN",
        "details": details or None,
        "responses": [describe(r) for r in responses],
        "initial": grouped(safe(call.initial_metadata) if call else None),
        "trailing": grouped(safe(call.trailing_metadata) if call else None),
    }


def safe(getter):
    try:
        return getter()
    except Exception:  # a call that never started has no metadata
        return None


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT (h2c unless --tls-ca)")
    parser.add_argument("--method", required=True, help="full path, e.g. /shop.Orders/Get")
    parser.add_argument("--kind", required=True, choices=KINDS)
    parser.add_argument("--token", help="sent as `authorization: Bearer TOKEN`")
    parser.add_argument(
        "--metadata", action="append", default=[], metavar="K=V",
        help="extra request metadata (repeatable; key is lower-cased)",
    )
    parser.add_argument("--payload", default="{}", help="request body for unary/server_stream")
    parser.add_argument("--count", type=int, default=3, help="messages sent by client_stream/bidi")
    parser.add_argument("--size", type=int, default=16, help="bytes per client_stream/bidi message")
    parser.add_argument("--timeout", type=float, default=10.0, help="call deadline in seconds")
    parser.add_argument(
        "--tls-ca", metavar="PEM",
        help="call over TLS, trusting only the CA certificate(s) in this PEM file",
    )
    parser.add_argument(
        "--tls-name", metavar="NAME",
        help="with --tls-ca: the name to check the server certificate against "
        "(default: the host of --target)",
    )
    args = parser.parse_args(argv)
    if not args.method.startswith("/") or args.method.count("/") != 2:
        parser.error("--method must look like /package.Service/Method")
    if args.count < 0 or args.size < 0 or args.size > MAX_MESSAGE:
        parser.error("--count must be >= 0 and --size within 0..16777216")
    if args.timeout <= 0:
        parser.error("--timeout must be > 0")
    if args.tls_name is not None and args.tls_ca is None:
        parser.error("--tls-name needs --tls-ca")
    args.tls_ca_pem = None
    if args.tls_ca is not None:
        try:
            with open(args.tls_ca, "rb") as f:
                args.tls_ca_pem = f.read()
        except OSError as err:
            parser.error(f"cannot read --tls-ca: {err}")
    metadata = []
    if args.token is not None:
        metadata.append(("authorization", f"Bearer {args.token}"))
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--metadata wants K=V, got {item!r}")
        metadata.append((key.strip().lower(), value))
    args.metadata = metadata
    return args


def run(args):
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
        # Loopback only: never route through an http_proxy from the env.
        ("grpc.enable_http_proxy", 0),
    ]
    if args.tls_ca_pem is None:
        channel = grpc.insecure_channel(args.target, options=options)
    else:
        if args.tls_name is not None:
            options.append(("grpc.ssl_target_name_override", args.tls_name))
        channel = grpc.secure_channel(
            args.target,
            grpc.ssl_channel_credentials(root_certificates=args.tls_ca_pem),
            options=options,
        )
    payload = args.payload.encode("utf-8")
    messages = [bytes([0x61 + i % 26]) * args.size for i in range(args.count)]
    kw = {"metadata": args.metadata or None, "timeout": args.timeout}
    responses = []
    try:
        if args.kind == "unary":
            stub = channel.unary_unary(args.method)
            try:
                response, call = stub.with_call(payload, **kw)
            except grpc.RpcError as err:
                return outcome(err, responses, err)
            responses.append(response)
            return outcome(call, responses)
        if args.kind == "client_stream":
            stub = channel.stream_unary(args.method)
            try:
                response, call = stub.with_call(iter(messages), **kw)
            except grpc.RpcError as err:
                return outcome(err, responses, err)
            responses.append(response)
            return outcome(call, responses)
        if args.kind == "server_stream":
            call = channel.unary_stream(args.method)(payload, **kw)
        else:
            call = channel.stream_stream(args.method)(iter(messages), **kw)
        try:
            for response in call:
                responses.append(response)
        except grpc.RpcError as err:
            return outcome(err, responses, err)
        return outcome(call, responses)
    finally:
        channel.close()


def main():
    args = parse_args(sys.argv[1:])
    try:
        result = run(args)
    except (ValueError, TypeError) as err:
        # grpcio refuses some metadata (e.g. invalid key characters) up front.
        print(f"grpc client: {err}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
