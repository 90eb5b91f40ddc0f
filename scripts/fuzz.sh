#!/usr/bin/env bash
# Fuzzes every target under fuzz/ (cargo-fuzz, libFuzzer, the nightly
# toolchain) for SECONDS each (default 60), starting from the committed seed
# corpora (fuzz/corpus/TARGET) and first replaying every input that once
# crashed a target (fuzz/regressions/TARGET). New finds go to a scratch
# corpus, not into the repository. A crash fails the run and leaves its input
# in fuzz/artifacts/TARGET: copy it to fuzz/regressions/TARGET with the fix.
# Prints each target's executions at the end. CI runs it; so can anyone:
#   scripts/fuzz.sh          # 60 s a target
#   scripts/fuzz.sh 600      # longer
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-60}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build -O
targets=$(cargo +nightly fuzz list | grep -v '^seeds$')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
summary=()
for t in $targets; do
  if compgen -G "regressions/$t/*" >/dev/null; then
    echo "fuzz: $t: replaying regressions/$t"
    cargo +nightly fuzz run -O "$t" regressions/"$t"/* -- -runs=1
  fi
  mkdir -p "$scratch/$t"
  cp corpus/"$t"/* "$scratch/$t"/
  log="$scratch/$t.log"
  echo "fuzz: $t for ${secs} s"
  if ! cargo +nightly fuzz run -O "$t" "$scratch/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$scratch/$t" -type f | wc -l)
  summary+=("$(printf '%-16s %12s executions  %6s corpus inputs' "$t" "${runs:-?}" "$corpus")")
done
echo
echo "fuzz: every target ran ${secs} s without a crash"
printf '  %s\n' "${summary[@]}"
