#!/usr/bin/env bash
# make demo: start the local Sigstore stack, attest a real artifact (the paved
# binary itself) exactly as a GitHub Actions job would, verify the bundle, and
# print the commands that verify it again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/paved-demo-XXXXXX")
stack_pid=""
cleanup() {
  [ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null && wait "$stack_pid" 2>/dev/null || true
}
trap cleanup EXIT

echo "==> building paved and the stack launcher"
(cd "$root" && go build -o "$work/paved" . && go build -o "$work/paved-stack" ./test/cmd/paved-stack)

echo "==> starting the local Sigstore stack (Fulcio, timestamp authority, Rekor v2, OIDC issuer on 127.0.0.1)"
"$work/paved-stack" --dir "$work/stack" >"$work/stack.out" 2>"$work/stack.log" &
stack_pid=$!
for _ in $(seq 600); do
  grep -q ready "$work/stack.out" 2>/dev/null && break
  kill -0 "$stack_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q ready "$work/stack.out"; then
  echo "the stack did not start; its log:" >&2
  cat "$work/stack.log" >&2
  exit 1
fi
# shellcheck disable=SC1091
set -a; . "$work/stack/stack.env"; set +a

echo "==> a GitHub Actions job of paved-dev/demo attests its build output"
job="$work/job"
mkdir -p "$job/dist"
cp "$work/paved" "$job/dist/paved-linux-amd64"
: >"$work/github_output"; : >"$work/step_summary"
(cd "$job" && env -i PATH="$PATH" HOME="$HOME" \
  GITHUB_ACTIONS=true GITHUB_WORKSPACE="$job" GITHUB_REPOSITORY=paved-dev/demo GITHUB_SERVER_URL=https://github.com \
  GITHUB_OUTPUT="$work/github_output" GITHUB_STEP_SUMMARY="$work/step_summary" \
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL" ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  INPUT_SUBJECT_PATH="dist/*" INPUT_TRUSTED_ROOT="$PAVED_TRUSTED_ROOT" INPUT_SIGNING_CONFIG="$PAVED_SIGNING_CONFIG" \
  "$work/paved" attest | sed '/^::add-mask::/d')
echo
echo "--- step summary ---"
cat "$work/step_summary"

echo "==> verifying the bundle offline with paved"
san="https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main"
"$work/paved" verify-bundle --bundle "$job/paved-linux-amd64.sigstore.json" \
  --certificate-identity "$san" --certificate-oidc-issuer "$PAVED_STACK_GITHUB_ISSUER" \
  --trusted-root "$PAVED_TRUSTED_ROOT" "$job/dist/paved-linux-amd64"
echo "verified: $job/dist/paved-linux-amd64 was built by $san"

echo "==> a rebuilt (different) binary is refused"
printf 'tampered' >>"$job/dist/paved-linux-amd64"
if "$work/paved" verify-bundle --bundle "$job/paved-linux-amd64.sigstore.json" \
  --certificate-identity "$san" --certificate-oidc-issuer "$PAVED_STACK_GITHUB_ISSUER" \
  --trusted-root "$PAVED_TRUSTED_ROOT" "$job/dist/paved-linux-amd64" 2>"$work/refusal"; then
  echo "BUG: the tampered binary verified" >&2
  exit 1
fi
echo "refused: $(cat "$work/refusal")"
echo
echo "Demo files are in $work (the stack stops now)."
