#!/usr/bin/env bash
# A fresh buildkitd beside the harness's: its own empty root, socket and pid in DIR,
# and the harness's registry, mirrors and trust (buildkitd_toml in lib.sh), so it
# builds what the main daemon builds but shares no cache with it. For the
# reproducibility test (two fresh daemons, one release each) and for anything that
# must see a daemon's first pull.
#
#   hack/extra-daemon.sh start DIR [BUILDER]   start it; print BUILDKIT_HOST=...; with
#                                               BUILDER, also a buildx builder of that
#                                               name on it (remote driver)
#   hack/extra-daemon.sh stop DIR [BUILDER]    stop it by its recorded pid, remove
#                                               BUILDER, delete DIR
#
# DIR must be new or empty on start (that is what fresh means), and short: the
# socket path must stay under 100 bytes. The main engine must be up (make engine).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# == 2 || $# == 3 ]] || die "usage: $0 start|stop DIR [BUILDER]"
action="$1"
dir="$(realpath -m "$2")"
builder="${3:-}"
load_env # the main engine's REGISTRY
# From here on the pid helpers of lib.sh work on DIR.
STATE="$dir"
sock="$dir/buildkitd.sock"
((${#sock} < 100)) || die "DIR too long for a unix socket: $sock"

# mounts_under DIR: mount points below DIR (buildkitd's snapshots while it runs).
mounts_under() { findmnt -rn -o TARGET | awk -v d="$1/" 'index($0 "/", d) == 1'; }

case $action in
start)
  if [[ -d $dir && -n "$(ls -A "$dir")" ]]; then
    die "$dir is not empty; a fresh daemon starts from an empty directory"
  fi
  mkdir -p "$dir/root"
  buildkitd_toml "$REGISTRY" "$dir/debug.sock" >"$dir/buildkitd.toml"
  start_bg buildkitd --root "$dir/root" --addr "unix://$sock" \
    --oci-worker-net=host --config "$dir/buildkitd.toml"
  for _ in $(seq 1 300); do
    "$BIN/buildctl" --addr "unix://$sock" --timeout 3 debug workers >/dev/null 2>&1 && break
    pid_of buildkitd >/dev/null || break
    sleep 0.2
  done
  "$BIN/buildctl" --addr "unix://$sock" --timeout 3 debug workers >/dev/null 2>&1 ||
    die "buildkitd in $dir not answering; last lines of its log:"$'\n'"$(tail -n 30 "$dir/buildkitd.log" 2>/dev/null)"
  if [[ -n $builder ]]; then
    buildx rm "$builder" >/dev/null 2>&1 || true
    buildx create --name "$builder" --driver remote "unix://$sock" >/dev/null
    buildx inspect --bootstrap "$builder" >/dev/null || die "buildx builder $builder does not answer"
  fi
  log "fresh buildkitd (pid $(pid_of buildkitd)) on unix://$sock${builder:+, buildx builder $builder}"
  echo "BUILDKIT_HOST=unix://$sock"
  ;;
stop)
  if [[ -n $builder ]]; then
    buildx rm "$builder" >/dev/null 2>&1 || true
  fi
  [[ -d $dir ]] || exit 0
  stop_pid buildkitd 30
  if mounts_under "$dir" | grep -q .; then
    die "mounts left under $dir, not deleting it:"$'\n'"$(mounts_under "$dir")"
  fi
  rm -rf "$dir"
  log "stopped the buildkitd in $dir and deleted its state"
  ;;
*) die "usage: $0 start|stop DIR [BUILDER]" ;;
esac
