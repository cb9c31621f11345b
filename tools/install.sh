#!/usr/bin/env bash
# Builds the test-time tools pinned under tools/ once per version into a cache
# directory outside the clone, and links them into one bin directory.
#
#   tools/install.sh [TOOL...]     (default: every tool)
#
# Cache: $PAVED_TOOLS_CACHE (default ~/.cache/paved-tools). The key of each tool is
# the SHA-256 of its go.mod and go.sum plus the Go version, so a version bump
# rebuilds it and nothing else. Prints the bin directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PAVED_TOOLS_CACHE:-$HOME/.cache/paved-tools}
bin="$cache/bin"
mkdir -p "$bin"

# tool directory | package | binary name
specs=(
  "fulcio|github.com/sigstore/fulcio|fulcio"
  "tsa|github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server|timestamp-server"
  "rekor|github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix|rekor-server"
  "cosign|github.com/sigstore/cosign/v3/cmd/cosign|cosign"
  "gh|github.com/cli/cli/v2/cmd/gh|gh"
  "act|github.com/nektos/act|act"
  "syft|github.com/anchore/syft/cmd/syft|syft"
  "actionlint|github.com/rhysd/actionlint/cmd/actionlint|actionlint"
  "registry|github.com/distribution/distribution/v3/cmd/registry|registry"
  "osv-scanner|github.com/google/osv-scanner/v2/cmd/osv-scanner|osv-scanner"
  "staticcheck|honnef.co/go/tools/cmd/staticcheck|staticcheck"
  "goimports|golang.org/x/tools/cmd/goimports|goimports"
)

want=("$@")
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

gover=$(go env GOVERSION)
for spec in "${specs[@]}"; do
  IFS='|' read -r dir pkg name <<<"$spec"
  selected "$dir" || continue
  key=$( (cat "$here/$dir/go.mod" "$here/$dir/go.sum"; echo "$gover") | sha256sum | cut -c1-16)
  out="$cache/$dir-$key/$name"
  if [ ! -x "$out" ]; then
    echo "building $name ($dir-$key)..." >&2
    mkdir -p "$cache/$dir-$key"
    (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$pkg") >&2
    mv "$out.tmp" "$out"
  fi
  ln -sf "$out" "$bin/$name"
done

if selected gitlab-ci-local || selected action-validator || selected actions-artifact; then
  # gitlab-ci-local copies the project with rsync and git.
  for pkg in rsync git; do
    if ! command -v "$pkg" >/dev/null 2>&1; then
      echo "installing $pkg (needed by gitlab-ci-local)..." >&2
      if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq "$pkg") >&2
      else
        echo "tools/install.sh: $pkg is missing; install it (e.g. sudo apt-get install $pkg)" >&2
        exit 1
      fi
    fi
  done
  key=$( (cat "$here/npm/package.json" "$here/npm/package-lock.json") | sha256sum | cut -c1-16)
  dest="$cache/npm-$key"
  if [ ! -x "$dest/node_modules/.bin/gitlab-ci-local" ] || [ ! -x "$dest/node_modules/.bin/action-validator" ]; then
    echo "installing gitlab-ci-local and action-validator ($key)..." >&2
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    cp "$here/npm/package.json" "$here/npm/package-lock.json" "$dest.tmp/"
    (cd "$dest.tmp" && npm ci --no-audit --no-fund --loglevel=error) >&2
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
  fi
  # gitlab-ci-local needs Node 22; the npm package "node" ships that runtime.
  cat > "$bin/gitlab-ci-local" <<SH
#!/usr/bin/env bash
exec "$dest/node_modules/.bin/node" "$dest/node_modules/gitlab-ci-local/dist/index.js" "\$@"
SH
  chmod +x "$bin/gitlab-ci-local"
  # action-validator checks action.yml and workflow files against their schemas.
  cat > "$bin/action-validator" <<SH
#!/usr/bin/env bash
exec "$dest/node_modules/.bin/node" "$dest/node_modules/@action-validator/cli/cli.mjs" "\$@"
SH
  chmod +x "$bin/action-validator"
  # The upload-artifact stand-in of the e2e tests requires this client library.
  ln -sfn "$dest/node_modules/@actions/artifact" "$bin/actions-artifact"
fi
# A static busybox gives the Paved image its /bin/sh (tools/paved-image).
if selected busybox && [ ! -x /bin/busybox ]; then
  echo "installing busybox-static (the Paved image's shell)..." >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq busybox-static) >&2
  else
    echo "tools/install.sh: /bin/busybox is missing; install it (e.g. sudo apt-get install busybox-static)" >&2
    exit 1
  fi
fi
echo "$bin"
