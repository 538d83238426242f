#!/usr/bin/env bash
# The wheel works on its own, as an administrator installs it: build the sdist and
# the wheel (python -m build builds the wheel from the sdist), build the wheel again
# straight from the tree and compare, install it into a fresh venv of Debian's
# Python in a temporary folder outside the checkout (no --system-site-packages, no
# node_modules, no scripts/), then run `geoenergy --version`, `geoenergy demo` to
# the end (published site included) and a short `geoenergy serve` (the login page
# and the app's Leaflet answer 200). Any missing file fails this script.
#
#   scripts/check-wheel.sh            # BUILD_PYTHON=.venv/bin/python, PYTHON=/usr/bin/python3
#   KEEP=1 scripts/check-wheel.sh     # keep the temporary folder to look at
set -euo pipefail
cd "$(dirname "$0")/.."
checkout="$(pwd)"
BUILD_PYTHON="${BUILD_PYTHON:-.venv/bin/python}"
PYTHON="${PYTHON:-/usr/bin/python3}"

tmp="$(mktemp -d /tmp/geoenergy-wheel.XXXXXX)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$tmp"; else echo "check-wheel: kept $tmp"; fi
}
trap cleanup EXIT
step() { printf 'check-wheel: %s (%ss)\n' "$1" "$SECONDS"; }
fail() { echo "check-wheel: FAILED: $*" >&2; exit 1; }

# 1. Build: sdist, wheel from the sdist, and a wheel from the tree to compare.
"$BUILD_PYTHON" -c "import build" 2>/dev/null || "$BUILD_PYTHON" -m pip install --quiet "build>=1.2"
step "building the sdist and the wheel from it"
"$BUILD_PYTHON" -m build --outdir "$tmp/dist" . >"$tmp/build.log" 2>&1 \
  || { tail -30 "$tmp/build.log" >&2; fail "python -m build"; }
step "building the wheel from the tree"
"$BUILD_PYTHON" -m build --wheel --outdir "$tmp/tree" . >"$tmp/build-tree.log" 2>&1 \
  || { tail -30 "$tmp/build-tree.log" >&2; fail "python -m build --wheel"; }
wheels=("$tmp"/dist/geoenergy-*.whl)
sdists=("$tmp"/dist/geoenergy-*.tar.gz)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || fail "no wheel in $tmp/dist"
[ ${#sdists[@]} -eq 1 ] && [ -f "${sdists[0]}" ] || fail "no sdist in $tmp/dist"
wheel="${wheels[0]}"
"$PYTHON" - "$wheel" "$tmp"/tree/geoenergy-*.whl <<'EOF' || fail "the wheel from the sdist differs from the wheel from the tree"
import sys, zipfile
a, b = (set(zipfile.ZipFile(p).namelist()) for p in sys.argv[1:3])
for name in sorted(a ^ b):
    print(("only from the sdist: " if name in a else "only from the tree: ") + name, file=sys.stderr)
sys.exit(1 if a ^ b else 0)
EOF
size_kb=$(( $(stat -c %s "$wheel") / 1024 ))
files=$("$PYTHON" -c "import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$wheel")
step "$(basename "$wheel"): ${size_kb} kB, ${files} files; $(basename "${sdists[0]}"): $(( $(stat -c %s "${sdists[0]}") / 1024 )) kB"

# 2. A fresh venv of Debian's Python, outside the checkout, with the wheel alone.
step "installing the wheel into a fresh venv ($PYTHON)"
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet "$wheel" >"$tmp/pip.log" 2>&1 \
  || { tail -30 "$tmp/pip.log" >&2; fail "pip install $(basename "$wheel")"; }
bin="$tmp/venv/bin"
cd "$tmp"
unset PYTHONPATH WEBMAP_ASSETS_DIR GEOENERGY_DB GEOENERGY_DASK_SCHEDULER VIRTUAL_ENV
export PATH="$bin:$PATH"

# Everything is imported from the venv and the assets come from inside the package.
"$bin/python" - "$checkout" <<'EOF' || fail "the installed package is incomplete"
import sys
from pathlib import Path

import geoenergy, webmap
from webmap.assets import ASSETS, VENDOR_DIR, node_modules

checkout = Path(sys.argv[1]).resolve()
for mod in (geoenergy, webmap):
    if Path(mod.__file__).resolve().is_relative_to(checkout):
        sys.exit(f"{mod.__name__} is imported from the checkout: {mod.__file__}")
root = node_modules()
if root != VENDOR_DIR:
    sys.exit(f"the assets come from {root}, not from the package ({VENDOR_DIR})")
missing = [
    f"{a.package}/{rel}"
    for a in ASSETS.values()
    for rel in (a.path, *a.extra)
    if not (root / a.package / rel).exists()
]
if missing:
    sys.exit(f"the wheel lacks web-map assets: {missing}")
print(f"check-wheel: geoenergy {geoenergy.__version__}, assets in {root}")
EOF

want="$(basename "$wheel" | cut -d- -f2)"
got="$("$bin/geoenergy" --version)" || fail "geoenergy --version"
[[ "$got" == *"$want"* ]] || fail "geoenergy --version printed '$got', the wheel is $want"
step "geoenergy --version: $got"

step "geoenergy demo"
"$bin/geoenergy" demo "$tmp/demo" >"$tmp/demo.log" 2>&1 \
  || { tail -40 "$tmp/demo.log" >&2; fail "geoenergy demo"; }
for f in published/index.html published/assets/leaflet/dist/leaflet.js; do
  [ -s "$tmp/demo/$f" ] || fail "the demo did not write $f"
done
step "demo done, site published in $tmp/demo/published"

# 3. serve: start on a free loopback port, wait for the login page, stop it.
port="$("$bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")"
"$bin/geoenergy" -w "$tmp/demo" serve --host 127.0.0.1 --port "$port" >"$tmp/serve.log" 2>&1 &
server=$!
"$bin/python" - "$port" "$server" <<'EOF' || { tail -30 "$tmp/serve.log" >&2; fail "geoenergy serve"; }
import os, sys, time, urllib.error, urllib.request

port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 90
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            assert r.status == 200 and b"password" in r.read().lower(), "no login form"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/leaflet/leaflet.js") as r:
            assert r.status == 200, f"Leaflet answered {r.status}"
        break
    except urllib.error.HTTPError as exc:
        sys.exit(f"{exc.url} answered {exc.code}")
    except OSError as exc:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit("geoenergy serve exited before answering")
        if time.monotonic() > deadline:
            sys.exit(f"no answer on port {port} after 90 s: {exc}")
        time.sleep(0.5)
print(f"check-wheel: serve answered on port {port}: /login 200, Leaflet 200")
EOF
kill "$server"
wait "$server" 2>/dev/null || true
server=""
step "all good"
