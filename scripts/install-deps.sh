#!/usr/bin/env bash
# Installs the Debian packages Lethe builds and tests with, only when something is missing.
# Safe to run again: a machine that has everything does nothing and prints nothing.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libsqlite3-dev sqlite3 libzip-dev zipcmp zipmerge ziptool zip unzip
  nlohmann-json3-dev libspdlog-dev libfmt-dev catch2 libpq-dev libcurl4-openssl-dev libssl-dev
  libcli11-dev libhowardhinnant-date-dev tzdata
  clang-format
  postgresql postgresql-contrib
  nodejs python3 curl
  chromium
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm: NodeSource's nodejs ships it; Debian's own nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] && apt-get install -y -qq --no-install-recommends npm || sudo apt-get install -y -qq --no-install-recommends npm
fi
