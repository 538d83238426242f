#!/usr/bin/env bash
# Web-map set-up (as root, idempotent): Debian's Chromium for the browser tests
# and the benchmark, CJK fonts so Chinese addresses and district names render in
# screenshots, and the Leaflet/plugin assets from the npm registry (npm ci in
# webmap/assets) that published sites copy so they work offline.
# Fails loudly when anything is missing afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
assets=webmap/assets

packages=(chromium fonts-noto-cjk nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Node.js from elsewhere (e.g. nodesource) also brings npm: do not ask apt for it.
if command -v npm >/dev/null && command -v node >/dev/null; then
  kept=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || kept+=("$p"); done
  missing=("${kept[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-web: Debian packages missing: ${missing[*]}; run this as root (or with sudo)." >&2
    exit 1
  fi
  echo "install-web: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install (or nothing is installed).
stamp="$assets/node_modules/.geoenergy-lock.sha256"
want="$(sha256sum "$assets/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-web: npm ci in $assets"
  (cd "$assets" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

# Check the result: a broken install must stop here, not show up later as skipped tests.
fail=0
if ! /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1; then
  echo "install-web: /usr/bin/chromium is missing or does not start headless" >&2
  fail=1
fi
for f in leaflet/dist/leaflet.js leaflet/dist/leaflet.css \
  leaflet.markercluster/dist/leaflet.markercluster.js supercluster/dist/supercluster.min.js \
  leaflet.fullscreen/Control.FullScreen.js leaflet-measure/dist/leaflet-measure.js \
  jquery/dist/jquery.min.js bootstrap/dist/js/bootstrap.bundle.min.js \
  leaflet.awesome-markers/dist/leaflet.awesome-markers.js \
  @fortawesome/fontawesome-free/css/all.min.css; do
  if [ ! -s "$assets/node_modules/$f" ]; then
    echo "install-web: $assets/node_modules/$f is missing after npm ci" >&2
    fail=1
  fi
done
if ! fc-list :lang=zh | grep -q .; then
  echo "install-web: no Chinese font found (fonts-noto-cjk)" >&2
  fail=1
fi
exit "$fail"
