#!/usr/bin/env bash
# Debian packages GeoEnergy needs at run time (as root). Idempotent: apt runs
# only when a package is missing. Extra packages may be passed as arguments.
set -euo pipefail
packages=(python3 python3-venv python3-dev libsqlite3-mod-spatialite "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "GeoEnergy needs Debian packages: ${missing[*]}; run this as root (or with sudo)." >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
