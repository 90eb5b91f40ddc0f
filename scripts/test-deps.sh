#!/usr/bin/env bash
# Installs the system parts the test suite runs against, when missing:
# PostgreSQL's server binaries (the suite starts a throwaway cluster),
# Mosquitto with its dynamic-security plugin and mosquitto_ctrl, curl (the
# README's journey uses it), setpriv, and Chromium with its WebDriver (the
# console's browser tests drive a real headless Chromium), and schemathesis
# (PyPI, in its own virtualenv under $WAVECAST_TOOLS, default
# ~/.cache/wavecast: the contract test runs it against the OpenAPI
# document), openssl (the SWUpdate tests sign their images with it) and
# Debian's swupdate 2022.12 (the real hawkBit DDI client: its libraries
# through apt, the package itself unpacked under $WAVECAST_TOOLS, because
# installing it starts a daemon). Debian/Ubuntu (apt); as root, or through sudo.
# `scripts/test.sh` and CI call it; run it alone to prepare a machine.
set -euo pipefail

missing=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_ctrl >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The SWUpdate tests' client (tests/src/swupdate.rs finds it here).
swupdate_dir="${WAVECAST_TOOLS:-$HOME/.cache/wavecast}/swupdate-2022.12"
swupdate_libs=(libarchive13 libconfig9 libcurl4 libext2fs2 libfdisk1 libgpiod2 libjson-c5
  liblua5.3-0 librsync2 libswupdate0.1 liburiparser1 libwebsockets17 libzck1)
if [ ! -x "$swupdate_dir/usr/bin/swupdate" ]; then
  for lib in "${swupdate_libs[@]}"; do
    dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib")
  done
fi
# The version the contract test names (tests/src/schemathesis.rs).
schemathesis_version=4.32.5
schemathesis_venv="${WAVECAST_TOOLS:-$HOME/.cache/wavecast}/schemathesis-$schemathesis_version"
if [ ! -x "$schemathesis_venv/bin/schemathesis" ]; then
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi

install_schemathesis() {
  [ -x "$schemathesis_venv/bin/schemathesis" ] && return 0
  echo "test dependencies: installing schemathesis $schemathesis_version into $schemathesis_venv"
  rm -rf "$schemathesis_venv"
  python3 -m venv "$schemathesis_venv"
  "$schemathesis_venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$schemathesis_version"
  "$schemathesis_venv/bin/schemathesis" --version
}

unpack_swupdate() {
  [ -x "$swupdate_dir/usr/bin/swupdate" ] && return 0
  echo "test dependencies: unpacking Debian's swupdate into $swupdate_dir"
  local work
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq swupdate 2>/dev/null)
  rm -rf "$swupdate_dir"
  mkdir -p "$swupdate_dir"
  dpkg-deb -x "$work"/swupdate_*.deb "$swupdate_dir"
  rm -rf "$work"
  if ldd "$swupdate_dir/usr/bin/swupdate" | grep -q "not found"; then
    echo "test dependencies: the unpacked swupdate misses libraries:" >&2
    ldd "$swupdate_dir/usr/bin/swupdate" | grep "not found" >&2
    exit 1
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_schemathesis
  unpack_swupdate
  echo "test dependencies: all present"
  exit 0
fi
echo "test dependencies: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "test dependencies: missing ${missing[*]}, and installing them needs root (or sudo)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test dependencies: missing ${missing[*]}; this script installs with apt-get (Debian, Ubuntu)" >&2
  exit 1
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
install_schemathesis
unpack_swupdate
