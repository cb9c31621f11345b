#!/usr/bin/env bash
# Builds paved once per platform into DIST and writes DIST/checksums.txt
# (sha256sum format). Run from the repository root.
#
#   .github/release/build.sh VERSION DIST [OS/ARCH ...]
#
# Default platforms: linux, darwin and windows on amd64 and arm64. The build is
# reproducible (-trimpath, no VCS stamp, CGO off, the version set by -ldflags):
# building the release tag again with the same Go toolchain gives the bytes
# whose SHA-256 the tag pins, so anyone can check a release against its source.
set -euo pipefail

usage="usage: .github/release/build.sh VERSION DIST [OS/ARCH ...]"
version=${1:?$usage}
dist=${2:?$usage}
shift 2
if [[ ! $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "build.sh: VERSION must be a release version like v1.2.3, got '$version'" >&2
  exit 2
fi
[ -f go.mod ] && [ -f main.go ] || { echo "build.sh: run it from the repository root" >&2; exit 2; }
platforms=("$@")
if [ ${#platforms[@]} -eq 0 ]; then
  platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
fi

mkdir -p "$dist"
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/} ext=""
  if [ "$os" = windows ]; then ext=.exe; fi
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/paved-dev/paved/shared/command.version=$version" \
    -o "$dist/paved_${os}_${arch}${ext}" .
done
(cd "$dist" && sha256sum paved_* > checksums.txt && cat checksums.txt)
