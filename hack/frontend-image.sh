#!/usr/bin/env bash
# Build Dockerfile.frontend (context = repo root, builtin dockerfile.v0 frontend) on
# the harness buildkitd and push it as $FRONTEND_IMAGE. VERSION overrides the
# version stamped into the binary (default: git describe, else "dev").
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_env

version="${VERSION:-$(git -C "$REPO" describe --tags --always --dirty 2>/dev/null || echo dev)}"
log "building $FRONTEND_IMAGE (version $version)"
# .dockerignore keeps .engine/ (buildkitd's own root!) and .bin/ out of the context.
bctl build --progress="${PROGRESS:-plain}" --frontend dockerfile.v0 \
  --local "context=$REPO" --local "dockerfile=$REPO" \
  --opt filename=Dockerfile.frontend \
  --opt "build-arg:VERSION=$version" \
  --output "type=image,name=$FRONTEND_IMAGE,push=true,registry.insecure=true"
log "pushed $FRONTEND_IMAGE"
