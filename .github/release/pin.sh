#!/usr/bin/env bash
# Makes the release commit: in a clean checkout of the commit the binaries of
# DIST were built from, writes their SHA-256 into actions/release.sha256,
# commits that file alone and tags the commit VERSION (annotated).
#
#   .github/release/pin.sh VERSION DIST
#
# The release commit is reachable from release tags only (the release workflow
# pushes the tag and moves the major tag, never a branch): every ref that
# resolves to it (v1.2.3, v1, its commit SHA) gives actions/setup.sh the pins
# to download and check the release binaries, while branches, whose
# actions/release.sha256 pins nothing, build paved from source. Prints the
# release commit's SHA.
set -euo pipefail

usage="usage: .github/release/pin.sh VERSION DIST"
version=${1:?$usage}
dist=${2:?$usage}
fail() {
  echo "pin.sh: $*" >&2
  exit 2
}
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "VERSION must be a release version like v1.2.3, got '$version'"
[ -f "$dist/checksums.txt" ] || fail "$dist/checksums.txt is missing: run .github/release/build.sh first"
sums=actions/release.sha256
[ -f "$sums" ] || fail "$sums is missing: run it from the repository root"
[ -z "$(git status --porcelain --untracked-files=no)" ] || fail "the checkout has uncommitted changes; pin a clean checkout of the commit the binaries were built from"
if git rev-parse -q --verify "refs/tags/$version" >/dev/null; then
  fail "tag $version already exists; release a new version instead"
fi
(cd "$dist" && sha256sum --check --quiet --strict checksums.txt) || fail "the files in $dist do not match $dist/checksums.txt"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# Keep the comments; a tree pins exactly one release.
grep '^#' "$sums" > "$tmp" || true
awk -v tag="$version" 'NF == 2 && length($1) == 64 && $2 ~ /^\*?paved_[a-z0-9]+_[a-z0-9]+(\.exe)?$/ {
  sub(/^\*/, "", $2); print $1 "  " tag "/" $2; n++
} END { if (n == 0) exit 1 }' "$dist/checksums.txt" >> "$tmp" || fail "$dist/checksums.txt lists no paved_OS_ARCH binary"
cp "$tmp" "$sums"
git add "$sums"
git commit -q -m "release $version: pin the SHA-256 of its binaries"
git tag -a "$version" -m "paved $version"
git rev-parse HEAD
