#!/usr/bin/env bash
# Installs the system parts the test suite runs against, when missing:
# PostgreSQL's server binaries (the suite starts a throwaway cluster),
# Mosquitto with its dynamic-security plugin and mosquitto_ctrl, curl (the
# README's journey uses it), setpriv, and Chromium with its WebDriver (the
# console's browser tests drive a real headless Chromium). Debian/Ubuntu (apt); as root, or
# through sudo. `scripts/test.sh` and CI call it; run it alone to prepare a
# machine.
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

if [ ${#missing[@]} -eq 0 ]; then
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
