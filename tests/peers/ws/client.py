"""WebSocket client peer for Nexora Gate integration tests.

Opens one connection with the real `websockets` client, reads the server's
first text message (the echo peer's view of the handshake), sends --messages
binary messages of --size bytes and counts the ones echoed back intact,
optionally holds the socket idle for --hold seconds and sends one more, then
prints ONE JSON line, so a Rust test can assert on upgrades through the
gateway without a WebSocket stack of its own.

Exit status is 0 whatever the outcome (it is in the JSON); 2 for usage errors.

Output:
  {"status": 101 | refusal status | null (no HTTP answer),
   "body": refusal body text | null, "first": parsed first text message | null,
   "echoed": N, "after_hold_ok": true | false | null (no --hold),
   "error": what went wrong | null}
"""

import argparse
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

MAX_MESSAGE = 16 * 1024 * 1024


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/path")
    parser.add_argument("--token", help="sent as `Authorization: Bearer TOKEN` on the handshake")
    parser.add_argument(
        "--header", action="append", default=[], metavar="K=V",
        help="extra handshake request header (repeatable)",
    )
    parser.add_argument("--messages", type=int, default=3, help="binary messages to exchange")
    parser.add_argument("--size", type=int, default=16, help="bytes per binary message")
    parser.add_argument(
        "--hold", type=float, default=0.0,
        help="seconds to keep the socket idle after the exchange, then send one more",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="handshake and per-reply timeout")
    parser.add_argument(
        "--no-compression", action="store_true",
        help="do not offer permessage-deflate (offered by default, as browsers do)",
    )
    args = parser.parse_args(argv)
    if not args.url.startswith(("ws://", "wss://")):
        parser.error("--url must start with ws:// or wss://")
    if args.messages < 0 or args.size < 0 or args.size > MAX_MESSAGE:
        parser.error("--messages must be >= 0 and --size within 0..16777216")
    if args.hold < 0 or args.timeout <= 0:
        parser.error("--hold must be >= 0 and --timeout > 0")
    headers = []
    if args.token is not None:
        headers.append(("Authorization", f"Bearer {args.token}"))
    for item in args.header:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            parser.error(f"--header wants K=V, got {item!r}")
        headers.append((key.strip(), value))
    args.header = headers
    return args


async def exchange(ws, payload, timeout):
    """Sends one binary message; True when the same bytes come back."""
    await ws.send(payload)
    reply = await asyncio.wait_for(ws.recv(), timeout)
    return reply == payload


async def run(args):
    result = {
        "status": None,
        "body": None,
        "first": None,
        "echoed": 0,
        "after_hold_ok": None,
        "error": None,
    }
    try:
        ws = await connect(
            args.url,
            additional_headers=args.header,
            max_size=MAX_MESSAGE,
            open_timeout=args.timeout,
            close_timeout=2,
            compression=None if args.no_compression else "deflate",
        )
    except InvalidStatus as err:
        result["status"] = err.response.status_code
        body = err.response.body
        if body:
            result["body"] = body.decode("utf-8", errors="replace")
        result["error"] = str(err)
        return result
    except Exception as err:  # refused connection, bad handshake, timeout...
        result["error"] = f"{type(err).__name__}: {err}"
        return result

    result["status"] = ws.response.status_code
    try:
        first = await asyncio.wait_for(ws.recv(), args.timeout)
        try:
            result["first"] = json.loads(first)
        except (TypeError, ValueError):
            result["first"] = first if isinstance(first, str) else {"len": len(first)}
        for i in range(args.messages):
            if await exchange(ws, bytes([i % 256]) * args.size, args.timeout):
                result["echoed"] += 1
        if args.hold > 0:
            result["after_hold_ok"] = False
            await asyncio.sleep(args.hold)
            result["after_hold_ok"] = await exchange(ws, b"after-hold", args.timeout)
    except ConnectionClosed as err:
        result["error"] = f"connection closed: {err}"
    except asyncio.TimeoutError:
        result["error"] = f"no reply within {args.timeout}s"
    except Exception as err:
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        try:
            await asyncio.wait_for(ws.close(), 3)
        except Exception:
            pass
    return result


def main():
    args = parse_args(sys.argv[1:])
    result = asyncio.run(run(args))
    print(json.dumps(result, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
