#!/usr/bin/env bash
# Makes the release commit: in a clean checkout of the commit the binaries of
# DIST were built from, writes their SHA-256 into actions/release.sha256 and,
# given IMAGE (the release's Paved image, NAME@sha256:HEX), writes it into
# gitlab/release.image and regenerates templates/*.yml so that the components
# default to it; commits those files alone and tags the commit twice
# (annotated): VERSION for GitHub (v1.2.3) and VERSION without its v for the
# GitLab CI/CD catalog (1.2.3), whose releases must be semantic versions with
# no prefix. IMAGE needs the Go toolchain (go generate).
#
#   .github/release/pin.sh VERSION DIST [IMAGE]
#
# The release commit is reachable from release tags only (the release workflow
# pushes both tags and moves the major tag, never a branch): every ref that
# resolves to it (v1.2.3, 1.2.3, v1, its commit SHA) gives actions/setup.sh the pins
# to download and check the release binaries, while branches, whose
# actions/release.sha256 pins nothing, build paved from source. Prints the
# release commit's SHA.
set -euo pipefail

usage="usage: .github/release/pin.sh VERSION DIST [IMAGE]"
version=${1:?$usage}
dist=${2:?$usage}
image=${3:-}
fail() {
  echo "pin.sh: $*" >&2
  exit 2
}
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "VERSION must be a release version like v1.2.3, got '$version'"
[ -f "$dist/checksums.txt" ] || fail "$dist/checksums.txt is missing: run .github/release/build.sh first"
sums=actions/release.sha256
[ -f "$sums" ] || fail "$sums is missing: run it from the repository root"
[ -z "$(git status --porcelain --untracked-files=no)" ] || fail "the checkout has uncommitted changes; pin a clean checkout of the commit the binaries were built from"
catalog=${version#v}
for tag in "$version" "$catalog"; do
  if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
    fail "tag $tag already exists; release a new version instead"
  fi
done
if [ -n "$image" ] && [[ ! $image =~ ^[^[:space:]@\$]+@sha256:[0-9a-f]{64}$ ]]; then
  fail "IMAGE must be pinned by digest, NAME@sha256:HEX, got '$image'"
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
if [ -n "$image" ]; then
  images=gitlab/release.image
  { grep '^#' "$images" || true; echo "$image"; } > "$tmp"
  cp "$tmp" "$images"
  if ! go generate . >/dev/null; then
    git reset -q && git checkout -q -- .
    fail "go generate failed; nothing was committed"
  fi
  git add "$images" templates
fi
git commit -q -m "release $version: pin the SHA-256 of its binaries"
git tag -a "$version" -m "paved $version"
git tag -a "$catalog" -m "paved $version (GitLab CI/CD catalog)"
git rev-parse HEAD
