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
    """Microseconds per verify from openssl speed's summary table."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"\s*rsa\s+(\d+)\s+bits\s+([\d.]+)s\s+([\d.]+)s", line)
        if m:
            found[f"rsa{m.group(1)}"] = float(m.group(3)) * 1e6
        m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+([\d.]+)s\s+([\d.]+)s", line)
        if m:
            found["ecdsap256"] = float(m.group(2)) * 1e6
        m = re.match(r"\s*253 bits EdDSA \(Ed25519\)\s+([\d.]+)s\s+([\d.]+)s", line)
        if m:
            found["ed25519"] = float(m.group(2)) * 1e6
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
