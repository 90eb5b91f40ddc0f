#!/usr/bin/env bash
# Cross-compiles the agent for ARM set-top boxes with Debian's own Rust
# (rustc-web / cargo-web, which ship an aarch64 standard library), the
# `agent-release` profile (LTO, one codegen unit, size-optimised, stripped).
#
#   scripts/cross-agent.sh [--install] [TARGET]
#
# TLS: bundled rustls (the default: the build that meets every footprint
# budget, see README), or with AGENT_TLS=system the box's OpenSSL (feature
# `system-tls`, linking libssl.so.3 and libcrypto.so.3 from the firmware:
# 0.6 MB smaller on disk, but those libraries' pages count in its RSS);
# either trusts the system CA store or the config's `ca_file`. Both drop
# the unwind tables a panic = "abort" build never reads
# (agent/dist/discard-unwind.ld says why and what it costs).
# TARGET defaults to aarch64-unknown-linux-gnu. armv7-unknown-linux-gnueabihf
# is wired but has never been built: its standard library
# (libstd-rust-web-dev:armhf) must be the same version as the installed
# rustc-web, which comes from bookworm-security, and that repository's armhf
# index failed to download on the machine this was written on (a size
# mismatch at the mirror), leaving only an older armhf std. --install first
# installs the Debian packages it needs (as root). The binary lands in
# target/cross/TARGET/agent-release/wavecast-agent; run it on x86 with
#   qemu-aarch64-static BINARY
# which finds the ARM loader and C library of Debian's multiarch `libc6:arm64`
# in /lib. Not `-L /usr/aarch64-linux-gnu`: that loader comes from the cross
# C library, a different build of glibc than the multiarch libc.so.6 it then
# loads, and with the two mixed the first thread the agent starts hangs.
set -euo pipefail
cd "$(dirname "$0")/.."

install=0
if [[ "${1:-}" == "--install" ]]; then install=1; shift; fi
target="${1:-aarch64-unknown-linux-gnu}"

case "$target" in
  aarch64-unknown-linux-gnu) arch=arm64; gcc=aarch64-linux-gnu-gcc; libc=libc6-dev-arm64-cross; qemu=qemu-aarch64-static ;;
  armv7-unknown-linux-gnueabihf) arch=armhf; gcc=arm-linux-gnueabihf-gcc; libc=libc6-dev-armhf-cross; qemu=qemu-arm-static ;;
  *) echo "cross-agent: unsupported target $target" >&2; exit 2 ;;
esac

if (( install )); then
  dpkg --add-architecture "$arch"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    rustc-web cargo-web "libstd-rust-web-dev:$arch" "libc6:$arch" "libssl-dev:$arch" "gcc-${gcc%-gcc}" "$libc" qemu-user-static >/dev/null
fi

for tool in /usr/bin/cargo "$gcc" "$qemu"; do
  command -v "$tool" >/dev/null || { echo "cross-agent: $tool is missing (run with --install)" >&2; exit 1; }
done

upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
export "CARGO_TARGET_${upper}_LINKER=$gcc"
case "${AGENT_TLS:-rustls}" in
  system)
    features=(--no-default-features --features system-tls)
    # Debian's multiarch OpenSSL for the target; the cross gcc searches
    # /usr/include/<triplet> for its opensslconf.h by itself.
    multiarch=$($gcc -print-multiarch)
    [ -e "/usr/lib/$multiarch/libssl.so" ] || { echo "cross-agent: libssl-dev:$arch is missing (run with --install)" >&2; exit 1; }
    export "${upper}_OPENSSL_LIB_DIR=/usr/lib/$multiarch" "${upper}_OPENSSL_INCLUDE_DIR=/usr/include" ;;
  rustls) features=() ;;
  *) echo "cross-agent: AGENT_TLS is system or rustls" >&2; exit 2 ;;
esac
# Appended to any RUSTFLAGS the caller set for the target.
flags_var="CARGO_TARGET_${upper}_RUSTFLAGS"
export "$flags_var=${!flags_var:-} -C link-arg=-Wl,--no-eh-frame-hdr -C link-arg=-Wl,-T,$PWD/agent/dist/discard-unwind.ld"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cross}"
# Debian's cargo, not rustup's: only Debian's toolchain has the ARM std.
env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc \
  /usr/bin/cargo build --locked --profile agent-release --target "$target" -p wavecast-agent "${features[@]}"
bin="$CARGO_TARGET_DIR/$target/agent-release/wavecast-agent"
ls -l "$bin"
