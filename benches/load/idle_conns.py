#!/usr/bin/env python3
"""Opens N idle keep-alive HTTP/1.1 connections to a proxy on loopback, each
after one completed request, holds them, and reports the proxy's RSS before,
while holding, 1 s after closing them and again LATER_S seconds after that.
An allocator may keep freed memory for some seconds before handing it back
(mimalloc, which the gateway links, purges pages that stayed free past a
delay); the later reading shows whether it comes back at all while the proxy
is left idle. Bounded: N connections, one request each, then fixed waits;
traffic only to 127.0.0.1.

usage: idle_conns.py PID HOST:PORT PATH TOKEN [N] [HOLD_S] [LATER_S]
"""
import resource
import socket
import sys
import time


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    pid, addr, path, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    hold = float(sys.argv[6]) if len(sys.argv) > 6 else 5.0
    later_s = float(sys.argv[7]) if len(sys.argv) > 7 else 9.0
    host, port = addr.rsplit(":", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    before = rss_kib(pid)
    socks, ok = [], 0
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1.1 200"):
            ok += 1
        socks.append(s)
    time.sleep(hold)
    holding = rss_kib(pid)
    for s in socks:
        s.close()
    time.sleep(1.0)
    after = rss_kib(pid)
    time.sleep(later_s)
    later = rss_kib(pid)
    print(f"connections={n} ok_responses={ok} rss_before_kib={before} "
          f"rss_holding_kib={holding} rss_after_close_kib={after} "
          f"rss_{1 + later_s:g}s_after_close_kib={later} "
          f"per_conn_bytes={(holding - before) * 1024 // max(n, 1)} peak_hwm_kib={hwm_kib(pid)}")


if __name__ == "__main__":
    main()
