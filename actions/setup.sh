#!/usr/bin/env bash
# Puts a paved binary on PATH for the rest of the job.
#
# Environment (set by the action's `env:`, never spliced into a script):
#   PAVED_SOURCE             the action's own source tree (required)
#   PAVED_ACTION_REF         the ref the action was used at (github.action_ref)
#   PAVED_ACTION_REPOSITORY  OWNER/NAME of the action (github.action_repository)
#   PAVED_DOWNLOAD_URL       base URL of the release downloads (the download-url input)
#   PAVED_BINARY             an executable to use as is, skipping all of the below
#
# A release commit (what a release tag points at) lists the SHA-256 of its
# binaries in actions/release.sha256, as "SHA256  TAG/paved_OS_ARCH[.exe]"
# lines (.github/release/pin.sh writes them). Used at any ref that resolves to
# it (the tag v1.2.3, the major tag v1, the commit SHA), the action downloads
# the binary for this runner from BASE/TAG/paved_OS_ARCH, checks it against the
# pinned SHA-256 and refuses it on any mismatch. BASE defaults to the
# repository's GitHub release downloads. Other trees (branches, `uses: ./`)
# pin nothing, and paved is built from the action's source with the runner's
# Go toolchain.
set -euo pipefail
: "${PAVED_SOURCE:?PAVED_SOURCE must point at the source of the action}"
dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/paved-bin"
mkdir -p "$dest"

fail() {
  echo "::error title=paved setup::$*"
  exit 1
}

# redact hides credentials written into a URL (https://user:secret@host/...).
redact() {
  printf '%s' "$1" | sed -E 's#(://)[^/@]*@#\1***@#'
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# pinned prints "TAG SHA256" for the release binary NAME that the action's
# tree pins, or nothing. A tree normally pins one release; should it list
# several, the one named by REF wins, else the last listed.
pinned() {
  local ref=${1#refs/tags/} name=$2 sums="$PAVED_SOURCE/actions/release.sha256"
  [ -f "$sums" ] || return 0
  awk -v ref="$ref" -v name="$name" '
    NF == 2 && length($1) == 64 && $1 !~ /[^0-9a-f]/ {
      n = split($2, p, "/")
      if (n != 2 || p[2] != name) next
      if (p[1] == ref) { exact = p[1] " " $1 }
      last = p[1] " " $1
    }
    END { if (exact != "") print exact; else if (last != "") print last }
  ' "$sums"
}

platform() {
  local os arch
  case "${RUNNER_OS:-}" in
    Linux) os=linux ;;
    macOS) os=darwin ;;
    Windows) os=windows ;;
    *) return 0 ;;
  esac
  case "${RUNNER_ARCH:-}" in
    X64) arch=amd64 ;;
    ARM64) arch=arm64 ;;
    *) return 0 ;;
  esac
  if [ "$os" = windows ]; then
    echo "paved_${os}_${arch}.exe"
  else
    echo "paved_${os}_${arch}"
  fi
}

# download fetches the pinned release binary NAME of TAG into $dest and
# refuses it unless its SHA-256 is WANT.
download() {
  local tag=$1 name=$2 want=$3 exe=paved base url tmp got
  case "$name" in *.exe) exe=paved.exe ;; esac
  if [ -f "$dest/$exe" ] && [ "$(sha256 "$dest/$exe")" = "$want" ]; then
    echo "paved $tag ($name) is already set up and matches its pinned SHA-256"
    return 0
  fi
  base=${PAVED_DOWNLOAD_URL:-}
  if [ -z "$base" ]; then
    [ -n "${PAVED_ACTION_REPOSITORY:-}" ] || fail "cannot tell which repository to download paved $tag from: set the download-url input"
    base="${GITHUB_SERVER_URL:-https://github.com}/$PAVED_ACTION_REPOSITORY/releases/download"
  fi
  url="${base%/}/$tag/$name"
  command -v curl >/dev/null 2>&1 || fail "curl is needed to download paved $tag; install it or set PAVED_BINARY"
  tmp="$dest/.$name.download"
  rm -f "$tmp"
  if ! curl --fail --silent --show-error --location \
    --proto '=https,http,file' --connect-timeout 20 --max-time 300 \
    --retry 3 --retry-delay 2 --retry-connrefused --max-filesize 268435456 \
    --output "$tmp" "$url"; then
    rm -f "$tmp"
    fail "could not download paved $tag from $(redact "$url"): check the download-url input (a mirror must serve TAG/$name) and the runner's network"
  fi
  got=$(sha256 "$tmp")
  if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    fail "refusing the paved binary from $(redact "$url"): its SHA-256 is $got, but actions/release.sha256 pins $want for $tag/$name. The download was altered or the mirror serves another build; it was deleted and not run."
  fi
  chmod +x "$tmp"
  mv -f "$tmp" "$dest/$exe"
  echo "downloaded paved $tag ($name) from $(redact "$url") and verified its SHA-256 $got"
}

if [ -n "${PAVED_BINARY:-}" ]; then
  if [ ! -x "$PAVED_BINARY" ]; then
    fail "PAVED_BINARY=$PAVED_BINARY is not an executable file"
  fi
  ln -sf "$PAVED_BINARY" "$dest/paved"
else
  name=$(platform)
  pin=""
  if [ -n "$name" ]; then
    pin=$(pinned "${PAVED_ACTION_REF:-}" "$name")
  fi
  if [ -n "$pin" ]; then
    download "${pin%% *}" "$name" "${pin##* }"
  elif command -v go >/dev/null 2>&1; then
    echo "no release binary is pinned for ref '${PAVED_ACTION_REF:-}' on ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: building paved from the action's source"
    (cd "$PAVED_SOURCE" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$dest/paved" .)
  else
    fail "no release binary is pinned for ref '${PAVED_ACTION_REF:-}' on ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} and no Go toolchain to build one: use a release tag, add actions/setup-go before this step, or set PAVED_BINARY"
  fi
fi
echo "$dest" >> "$GITHUB_PATH"
