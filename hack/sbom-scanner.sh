#!/usr/bin/env bash
# hack/sbom-scanner.sh REPOSITORY: make sure the SBOM generator image is in
# REPOSITORY and print its reference, for `--sbom=generator=...`.
#
# The image is hack/sbom-scanner (BuildKit's SBOM scanner protocol on
# github.com/anchore/syft; docker/buildkit-syft-scanner cannot be pulled here
# and its source is not on the Go module proxy), compiled with the host's Go for
# the host's platform, which is the platform BuildKit runs scanners on (the
# builder's), and put FROM scratch. Its tag is the syft version; a label holds the
# hash of its inputs, and an image already there with the same hash is reused.
# SCANNER_FORCE=1 rebuilds it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# == 1 ]] || die "usage: $0 REPOSITORY"
src="$REPO/hack/sbom-scanner"
syft_version="$(cd "$src" && GOWORK=off go list -m -f '{{.Version}}' github.com/anchore/syft)"
goarch="$(go env GOARCH)"
ref="$1:syft-$syft_version"
key="$(hash_inputs "$src/go.mod" "$src/go.sum" "$src/main.go" "$(go env GOVERSION)" "$goarch" "scanner-image-v1")"

current="$(buildx imagetools inspect "$ref" --format '{{json .Image}}' 2>/dev/null |
  jq -r --arg l "$INPUT_KEY_LABEL" '.config.Labels[$l] // empty' 2>/dev/null || true)"
if [[ ${SCANNER_FORCE:-0} != 1 && $current == "$key" ]]; then
  log "$ref is current"
  echo "$ref"
  exit 0
fi

ctx="$(mktemp -d "${TMPDIR:-/tmp}/ohlcv-scanner.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
log "building the SBOM scanner (syft $syft_version, linux/$goarch; the first build takes a few minutes)"
(
  cd "$src"
  export GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH="$goarch"
  go vet .
  go build -trimpath -ldflags "-s -w" -o "$ctx/sbom-scanner" .
)
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY sbom-scanner /bin/sbom-scanner
# BuildKit mounts a tmpfs on /tmp for the scanner.
ENV TMPDIR=/tmp HOME=/tmp
ARG INPUT_KEY
LABEL org.ohlcv-build.input-key=$INPUT_KEY \
      org.opencontainers.image.title="ohlcv-build-sbom-scanner" \
      org.opencontainers.image.source="https://github.com/ohlcv-rag/ohlcv-build"
ENTRYPOINT ["/bin/sbom-scanner"]
EOF
buildx build --progress="${PROGRESS:-quiet}" --platform "linux/$goarch" \
  --provenance=false --sbom=false --build-arg "INPUT_KEY=$key" \
  --output "type=image,name=$ref,push=true" "$ctx" >&2
log "pushed $ref"
echo "$ref"
