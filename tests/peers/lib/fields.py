"""Header and metadata lists as the peers report them in their JSON."""

import base64


def grouped(pairs):
    """{lower-case name: value} from (name, value) pairs; a repeated name
    gives a list of its values, and bytes values (gRPC `-bin` metadata) are
    shown base64-encoded."""
    out = {}
    for name, value in pairs or ():
        name = name.lower()
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        if name in out:
            prev = out[name]
            out[name] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out
