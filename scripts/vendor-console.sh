#!/usr/bin/env bash
# Refreshes the console's vendored front-end files from the npm registry
# (`npm pack`, no install) and rewrites server/assets/VENDORED.md with each
# file's package, version and SHA-256. The files are committed and compiled
# into the binary; nothing is fetched at build or run time.
#
#   scripts/vendor-console.sh           fetch the pinned versions
#   scripts/vendor-console.sh --check   verify the committed files' digests
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=2.0.11     # htmx 2: explicit defaults we know (htmx 4 changed inheritance and error swaps)
UPLOT=1.6.32
out=server/assets/vendor
files=(
  "htmx.org@$HTMX package/dist/htmx.min.js htmx.min.js"
  "uplot@$UPLOT package/dist/uPlot.iife.min.js uPlot.iife.min.js"
  "uplot@$UPLOT package/dist/uPlot.min.css uPlot.min.css"
)

if [ "${1:-}" = "--check" ]; then
  status=0
  while read -r name sum; do
    actual=$(sha256sum "$out/$name" | cut -d' ' -f1)
    if [ "$actual" != "$sum" ]; then echo "$out/$name: $actual, VENDORED.md says $sum"; status=1; fi
  done < <(sed -n 's/^| `\([^`]*\)` | [^|]* | [^|]* | `\([0-9a-f]*\)` |$/\1 \2/p' server/assets/VENDORED.md)
  [ $status -eq 0 ] && echo "vendored files match VENDORED.md"
  exit $status
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rows=()
for entry in "${files[@]}"; do
  read -r spec inner name <<<"$entry"
  pkg=${spec%@*}; version=${spec##*@}
  tarball=$(cd "$tmp" && npm pack --silent "$spec")
  tar -xzf "$tmp/$tarball" -C "$tmp" "$inner"
  cp "$tmp/$inner" "$out/$name"
  rm -rf "$tmp/package"
  rows+=("| \`$name\` | $pkg | $version | \`$(sha256sum "$out/$name" | cut -d' ' -f1)\` |")
done
{
  echo "# Vendored front-end files"
  echo
  echo "The console's third-party files, committed so that nothing is fetched at"
  echo "build or run time, compiled into the \`wavecast\` binary and served under"
  echo "content-hashed names. \`scripts/vendor-console.sh\` refreshes them from the"
  echo "npm registry (\`npm pack\`) and rewrites this table; \`--check\` verifies them."
  echo
  echo "| file | package | version | SHA-256 |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} > server/assets/VENDORED.md
echo "vendored: ${#rows[@]} files; see server/assets/VENDORED.md"
