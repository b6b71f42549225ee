#!/usr/bin/env bash
# Cold token verification beside `openssl speed`, in one run on this machine.
#
# Runs the criterion `token/verify/*/cold` benches (a whole verification: split,
# base64url, header, signature, claims; no cache) and `openssl speed` for the same
# primitives, then prints per-operation times and their ratio. The token figure
# includes the JWT work around the signature check, so a ratio near 1.0 means the
# signature check runs at library speed.
#
#   benches/crypto_vs_openssl.sh            # writes target/bench-crypto/report.md
#   SECONDS_PER_ALG=3 benches/crypto_vs_openssl.sh
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/bench-crypto
mkdir -p "$out"
seconds="${SECONDS_PER_ALG:-3}"

command -v openssl >/dev/null || { echo "openssl (the command) is needed for the comparison" >&2; exit 2; }

# Interleaved: openssl, then criterion, then openssl again; the better openssl
# figure of the two is kept, so a noisy moment cannot flatter the gateway.
openssl_run() {
    openssl speed -seconds "$seconds" rsa2048 rsa3072 ecdsap256 ed25519 2>/dev/null
}
openssl_run >"$out/openssl-1.txt"
cargo bench --bench token -- --noplot 'token/verify/.*/cold' 2>/dev/null | tee "$out/criterion.txt" >/dev/null
openssl_run >"$out/openssl-2.txt"

python3 - "$out" <<'PY'
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])

def openssl_verify_us(text):
    """Microseconds per verify from openssl speed's summary table, taken from
    its verify/s column (the seconds columns are rounded to 0.0000s)."""
    found = {}
    patterns = {
        r"\s*rsa\s+(2048|3072)\s+bits\s+\S+s\s+\S+s\s+[\d.]+\s+([\d.]+)": lambda m: (f"rsa{m.group(1)}", m.group(2)),
        r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+[\d.]+\s+([\d.]+)": lambda m: ("ecdsap256", m.group(1)),
        r"\s*253 bits EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+[\d.]+\s+([\d.]+)": lambda m: ("ed25519", m.group(1)),
    }
    for line in text.splitlines():
        for pattern, pick in patterns.items():
            m = re.match(pattern, line)
            if m:
                name, per_second = pick(m)
                found[name] = 1e6 / float(per_second)
    return found

runs = [openssl_verify_us((out / f"openssl-{i}.txt").read_text()) for i in (1, 2)]
ossl = {k: min(r[k] for r in runs if k in r) for k in set().union(*runs)}

crit = {}
text = (out / "criterion.txt").read_text()
unit = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3}
for m in re.finditer(r"token/verify/(\S+)/cold\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text):
    crit[m.group(1)] = float(m.group(2)) * unit[m.group(3)]

pairs = [("RS256-2048", "rsa2048"), ("RS256-3072", "rsa3072"),
         ("ES256", "ecdsap256"), ("EdDSA", "ed25519")]
lines = ["| algorithm | token verify, cold (µs) | openssl speed verify (µs) | ratio |",
         "|---|---:|---:|---:|"]
for ours, theirs in pairs:
    a, b = crit.get(ours), ossl.get(theirs)
    ratio = f"{a / b:.2f}" if a and b else "n/a"
    lines.append(f"| {ours} | {a if a is None else f'{a:.1f}'} | {b if b is None else f'{b:.1f}'} | {ratio} |")
if "HS256" in crit:
    lines.append(f"| HS256 | {crit['HS256']:.2f} | — | — |")
report = "\n".join(lines)
(out / "report.md").write_text(report + "\n")
print(report)
PY
