#!/usr/bin/env bash
# Puts a paved binary on PATH for the rest of the job. PAVED_SOURCE is the
# action's own source tree. From a ref without a release (a branch, `uses: ./`)
# paved is built from that source with the runner's Go toolchain.
set -euo pipefail
: "${PAVED_SOURCE:?PAVED_SOURCE must point at the source of the action}"
dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/paved-bin"
mkdir -p "$dest"
if [ -n "${PAVED_BINARY:-}" ]; then
  if [ ! -x "$PAVED_BINARY" ]; then
    echo "::error title=paved setup::PAVED_BINARY=$PAVED_BINARY is not an executable file"
    exit 1
  fi
  ln -sf "$PAVED_BINARY" "$dest/paved"
elif command -v go >/dev/null 2>&1; then
  (cd "$PAVED_SOURCE" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$dest/paved" .)
else
  echo "::error title=paved setup::no release binary for this ref and no Go toolchain to build one: add actions/setup-go before this step, or set PAVED_BINARY"
  exit 1
fi
echo "$dest" >> "$GITHUB_PATH"
