#!/usr/bin/env bash
# Build Dockerfile.frontend (context = repo root, builtin dockerfile.v0 frontend) on
# the harness buildkitd, for its own platform, and push it as $FRONTEND_IMAGE and as
# $REGISTRY/ohlcv-rag/ohlcv-build:1, which is where the harness's ghcr.io mirror
# finds ghcr.io/ohlcv-rag/ohlcv-build:1: the syntax line of the README and the
# examples then runs this checkout's frontend. VERSION overrides the version stamped
# into the binary (default: git describe, else "dev"). Releases are `make release`.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_env

version="${VERSION:-$(git -C "$REPO" describe --tags --always --dirty 2>/dev/null || echo dev)}"
revision="$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"
channel="$REGISTRY/$IMAGE_PATH:$DEV_CHANNEL"
log "building $FRONTEND_IMAGE and $channel (version $version)"
# .dockerignore keeps .engine/ (buildkitd's own root!) and .bin/ out of the context.
bctl build --progress="${PROGRESS:-plain}" --frontend dockerfile.v0 \
  --local "context=$REPO" --local "dockerfile=$REPO" \
  --opt filename=Dockerfile.frontend \
  --opt "build-arg:VERSION=$version" --opt "build-arg:REVISION=$revision" \
  --output "type=image,\"name=$FRONTEND_IMAGE,$channel\",push=true,registry.insecure=true"
log "pushed $FRONTEND_IMAGE and $channel ($PUBLIC_IMAGE:$DEV_CHANNEL through the ghcr.io mirror)"
