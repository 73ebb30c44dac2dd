#!/usr/bin/env bash
# Build BuildKit's own Dockerfile frontend (dockerfile-frontend at the version pinned
# in hack/tools/go.mod) as a gateway image and push it as $PEER_FRONTEND_IMAGE, to
# compare our frontend with the reference one through the same gateway.v0 path.
# Skipped when the registry already has it built from the same inputs, unless FORCE=1.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_env

grep -q "github.com/moby/buildkit $BUILDKIT_VERSION" "$TOOLS_DIR/go.mod" ||
  die "hack/tools/go.mod does not pin github.com/moby/buildkit $BUILDKIT_VERSION"
key="$(hash_inputs "$REPO/hack/peer/Dockerfile" "$TOOLS_DIR/go.mod" "$TOOLS_DIR/go.sum")"
ref="${PEER_FRONTEND_IMAGE#"$REGISTRY"/}"
if [[ ${FORCE:-0} != 1 ]] && image_current "$key" "$ref"; then
  log "$PEER_FRONTEND_IMAGE present, skipping (FORCE=1 rebuilds)"
  exit 0
fi
log "building $PEER_FRONTEND_IMAGE"
# Context is hack/tools: just go.mod + go.sum, the module that pins buildkit.
bctl build --progress="${PROGRESS:-plain}" --frontend dockerfile.v0 \
  --local "context=$TOOLS_DIR" --local "dockerfile=$REPO/hack/peer" \
  --opt "build-arg:INPUT_KEY=$key" \
  --output "type=image,name=$PEER_FRONTEND_IMAGE,push=true,registry.insecure=true"
log "pushed $PEER_FRONTEND_IMAGE"
