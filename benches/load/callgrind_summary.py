#!/usr/bin/env python3
"""Per-request figures from a callgrind dump of the gateway under load.

usage: callgrind_summary.py DUMP REQUESTS NON_2XX

Prints instructions (Ir) per request; heap calls per request (calls into
mimalloc's allocation entry points and mi_free made from outside mimalloc,
so each is one Rust allocation or deallocation); and the instructions of
each crate per request (self cost, grouped by the crate of the function's
symbol; libc's memcpy/memset apart).
"""
import collections
import re
import sys

ALLOC = re.compile(r"^(mi_malloc|mi_zalloc|mi_calloc)")
REALLOC = re.compile(r"^mi_realloc")
FREE = re.compile(r"^mi_free$")
INTERNAL = re.compile(r"^_?mi_")
COMPRESSED = re.compile(r"\((\d+)\)(?: (.*))?")


class Names:
    """Callgrind's name compression: `(id) name` defines, `(id)` refers."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}

    def __call__(self, spec: str) -> str:
        m = COMPRESSED.match(spec)
        if not m:
            return spec
        if m.group(2) is not None:
            self.table[m.group(1)] = m.group(2)
        return self.table.get(m.group(1), "")


def crate_of(function: str, obj: str) -> str:
    if "libc.so" in obj:
        return "libc (memcpy/memset)" if re.match(r"__mem(cpy|move|set)", function) else "libc"
    if INTERNAL.match(function):
        return "mimalloc"
    m = re.match(r"<*([a-z_0-9]+)::", function)
    return m.group(1) if m else "other"


def main() -> None:
    dump, requests, non2xx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if requests <= 0:
        sys.exit("no requests were counted")
    fns, objs, files = Names(), Names(), Names()
    function = callee = obj = function_obj = ""
    after_calls = False
    heap = collections.Counter()
    own = collections.Counter()
    with open(dump, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, _, rest = line.partition("=")
            if key == "ob":
                obj = objs(rest.strip())
            elif key == "fn":
                function, function_obj = fns(rest.strip()), obj
            elif key == "cfn":
                callee = fns(rest.strip())
            elif key == "cob":
                objs(rest.strip())
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                files(rest.strip())
            elif key == "calls":
                after_calls = True
                if INTERNAL.match(function):
                    continue
                n = int(rest.split()[0])
                for kind, pattern in (("alloc", ALLOC), ("realloc", REALLOC), ("free", FREE)):
                    if pattern.match(callee):
                        heap[kind] += n
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:  # the inclusive cost of the call just named
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) > 1:
                    own[crate_of(function, function_obj)] += int(parts[1])
    total = sum(own.values())
    print(f"requests counted: {requests} (non-2xx: {non2xx})")
    print(f"instructions per request: {total / requests:,.0f}")
    print(f"allocations per request: {heap['alloc'] / requests:.2f}")
    print(f"reallocations per request: {heap['realloc'] / requests:.2f}")
    print(f"frees per request: {heap['free'] / requests:.2f}")
    print("instructions per request by crate (self cost):")
    for crate, ir in own.most_common(14):
        print(f"  {ir / requests:9,.0f}  {100 * ir / total:5.1f} %  {crate}")


if __name__ == "__main__":
    main()
