#!/usr/bin/env bash
# Stop what engine-up.sh started (by recorded pid only) and remove the buildx builder.
# Keeps registry data, buildkitd's cache and the debootstrap tarball, so the next
# engine-up.sh is quick and finds the seeded images.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lock engine

# Only a builder that points at this state's socket is ours: another checkout's
# engine may use the same name (OHLCV_BUILDER unset in both).
if [[ -x $BIN/buildx ]] && buildx inspect "$BUILDER_NAME" 2>/dev/null | grep -qF "unix://$BUILDKIT_SOCK"; then
  # Removing a remote-driver builder only drops buildx's record; the daemon is ours to stop.
  buildx rm "$BUILDER_NAME" >/dev/null 2>&1 || log "could not remove buildx builder $BUILDER_NAME"
fi
# buildkitd first: it may still be talking to the registry.
stop_pid buildkitd 30
stop_pid registry 10
rm -f "$ENV_FILE" "$BUILDKIT_SOCK" "$STATE/buildkitd-debug.sock"
if findmnt -rn -o TARGET | grep -q "^$STATE/buildkitd/"; then
  log "WARNING: mounts left under $STATE/buildkitd (buildkitd was killed?)"
fi
log "engine stopped (data kept in $STATE)"
