# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared helpers for the hack/ engine scripts. Source it, do not run it.
#
# Layout (all under the state dir, default $REPO/.engine, override OHLCV_ENGINE_DIR):
#   env                 KEY=VALUE file written by engine-up.sh (see engine-env.sh)
#   buildkitd.sock      BuildKit API socket
#   buildkitd/          buildkitd root (snapshots, cache)
#   registry-data/      registry storage; survives restarts (repositories are stored
#                       by name, without the host:port part)
#   *.pid, *.log        processes started by engine-up.sh and their logs
#   logs/               build logs of the seeded images

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE="$(realpath -m "${OHLCV_ENGINE_DIR:-$REPO/.engine}")"
ENV_FILE="$STATE/env"
BIN="$REPO/.bin"
TOOLS_DIR="$REPO/hack/tools"
# Slow-to-make inputs (the debootstrap tarball) live outside the state dir, so a
# second state dir (CI, OHLCV_ENGINE_DIR=...) or a wiped .engine/ reuses them.
CACHE_DIR="${OHLCV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ohlcv-build}"
BUILDER_NAME="${OHLCV_BUILDER:-ohlcv-build}"
BUILDKIT_SOCK="$STATE/buildkitd.sock"
BUILDKIT_VERSION="v0.34.2"
# The frontend's public image. The harness mirrors ghcr.io to its registry (see
# buildkitd_toml), so a `# syntax=ghcr.io/ohlcv-rag/ohlcv-build:1` line resolves
# offline to $REGISTRY/ohlcv-rag/ohlcv-build:1, where hack/frontend-image.sh
# pushes the dev build.
PUBLIC_IMAGE="ghcr.io/ohlcv-rag/ohlcv-build"
IMAGE_PATH="${PUBLIC_IMAGE#*/}"
DEV_CHANNEL=1
# Labels written into images we build ourselves: the hash of their inputs, so a
# changed recipe, CA bundle or Go toolchain triggers a rebuild instead of a skip.
INPUT_KEY_LABEL="org.ohlcv-build.input-key"
export REPO STATE ENV_FILE BIN

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# lock NAME: serialise concurrent runs of the same script (two engineers running
# engine-up at once). Children get the fd closed explicitly where they outlive us.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/$1.lock"
  flock -w 1800 9 || die "timed out waiting for $STATE/$1.lock"
}

# free_port: ask the kernel for an unused loopback port (bind to port 0).
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  # No python: pick random high ports until ss shows nobody listening there.
  local p _
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then
      echo "$p"
      return
    fi
  done
  die "could not find a free loopback port"
}

# port_free PORT: true when nothing listens on PORT.
port_free() {
  if command -v python3 >/dev/null 2>&1; then
    # SO_REUSEADDR like Go servers: a just-stopped registry leaves TIME_WAIT sockets.
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
  else
    [[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
  fi
}

# pid_of NAME: the pid recorded in $STATE/NAME.pid if that process is still the
# binary we started ($BIN/NAME); guards against pid reuse, so we never signal a
# process we did not start.
pid_of() {
  local f="$STATE/$1.pid" pid exe want
  [[ -s $f ]] || return 1
  pid="$(<"$f")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  # The kernel reports the resolved path: .bin/ may be a symlink to another checkout's.
  want="$(realpath -m "$BIN/$1")"
  # " (deleted)": the binary was rebuilt by deps.sh while the process kept running.
  [[ $exe == "$want" || $exe == "$want (deleted)" ]] || return 1
  echo "$pid"
}

# start_bg NAME ARGS...: run $BIN/NAME in its own session (so it outlives this
# script and its process group), log to $STATE/NAME.log, pid to $STATE/NAME.pid.
# The pid is written by the process itself right before exec, so it is exact.
start_bg() {
  local name="$1"
  shift
  rm -f "$STATE/$name.pid"
  # 9>&- : do not leak the lock fd into the daemon (it would hold the lock forever).
  # shellcheck disable=SC2016  # $$ and $1 belong to the inner bash
  setsid -f bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$STATE/$name.pid" "$BIN/$name" "$@" \
    </dev/null >>"$STATE/$name.log" 2>&1 9>&-
  local _
  for _ in $(seq 1 50); do
    pid_of "$name" >/dev/null && return 0
    sleep 0.1
  done
  die "$name did not start; last log lines:"$'\n'"$(tail -n 30 "$STATE/$name.log" 2>/dev/null)"
}

# stop_pid NAME [TIMEOUT]: SIGTERM our process, wait, then SIGKILL.
stop_pid() {
  local name="$1" timeout="${2:-20}" pid _
  if ! pid="$(pid_of "$name")"; then
    rm -f "$STATE/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((timeout * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not exit after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$STATE/$name.pid"
}

# load_env: source the env file written by engine-up.sh (fails if the engine is down).
load_env() {
  [[ -s $ENV_FILE ]] || die "no engine env at $ENV_FILE; run hack/engine-up.sh first"
  set -a
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  set +a
}

# buildkitd_toml REGISTRY DEBUG_SOCKET: the config of a buildkitd that uses the
# harness registry REGISTRY (host:port): plain http to it, and Docker Hub and
# ghcr.io names resolved through it; the security.insecure and device entitlements
# grantable, and the test CDI devices of hack/cdi.
buildkitd_toml() {
  cat <<EOF
# Generated by hack/ (buildkitd_toml in lib.sh); the registry port changes between starts.
# Granted only to builds that ask (buildx --allow, buildctl --allow): run steps with
# "security: insecure" and "devices:" are tested against these.
insecure-entitlements = ["security.insecure", "device"]

[grpc]
  # pprof and goroutine dumps for diagnosing hung builds (a socket, not a port):
  #   curl -s --unix-socket $2 'http://d/debug/pprof/goroutine?debug=2'
  debugAddress = "unix://$2"

[worker.oci]
  enabled = true
[worker.containerd]
  enabled = false

# No Docker Hub here: "debian:bookworm-slim" etc. resolve through the local registry,
# where hack/seed-images.sh pushed them as library/NAME:TAG.
[registry."docker.io"]
  mirrors = ["$1"]

# No ghcr.io either: "$PUBLIC_IMAGE:$DEV_CHANNEL" resolves to $1/$IMAGE_PATH:$DEV_CHANNEL,
# pushed by hack/frontend-image.sh (or by a make release to REGISTRY=$1).
[registry."ghcr.io"]
  mirrors = ["$1"]

[registry."$1"]
  http = true
  insecure = true

# CDI devices for the "devices:" tests: hack/cdi describes harmless ones (/dev/null
# under a test vendor name).
[cdi]
  specDirs = ["$REPO/hack/cdi"]
EOF
}

# buildctl with the harness daemon.
bctl() { "$BIN/buildctl" --addr "$BUILDKIT_HOST" "$@"; }

# buildx: the docker CLI plugin when a docker CLI is there, else the standalone
# binary (a fresh CI machine has no docker CLI: Debian only ships it with the engine).
buildx() {
  if command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    docker buildx "$@"
  else
    "$BIN/buildx" "$@"
  fi
}

# hash_inputs ARGS...: stable sha256 over files (name + content) and literal strings
# (an argument naming an existing file or directory is hashed by content).
# Files are named by argument; a directory argument hashes every file under it.
hash_inputs() {
  local a
  {
    for a in "$@"; do
      if [[ -d $a ]]; then
        (cd "$a" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
      elif [[ -f $a ]]; then
        printf '%s ' "${a##*/}"
        sha256sum <"$a"
      else
        printf 'str:%s\n' "$a"
      fi
    done
  } | sha256sum | cut -c1-32
}

REGISTRY_ACCEPT="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json"

# image_exists REPO:TAG (name inside $REGISTRY, e.g. library/busybox:latest)
image_exists() {
  local name="${1%:*}" tag="${1##*:}"
  curl -fsS -o /dev/null -H "Accept: $REGISTRY_ACCEPT" "http://$REGISTRY/v2/$name/manifests/$tag" 2>/dev/null
}

# image_label REPO:TAG LABEL: print a config label of the linux/amd64 image (empty if
# unset); fails when the tag is missing.
image_label() {
  local name="${1%:*}" tag="${1##*:}" m digest cfg
  m="$(curl -fsS -H "Accept: $REGISTRY_ACCEPT" "http://$REGISTRY/v2/$name/manifests/$tag" 2>/dev/null)" || return 1
  if [[ "$(jq -r '.manifests // empty | length' <<<"$m")" != "" ]]; then
    digest="$(jq -r '[.manifests[] | select(.platform.os == "linux" and .platform.architecture == "amd64")][0].digest // empty' <<<"$m")"
    [[ -n $digest ]] || return 1
    m="$(curl -fsS -H "Accept: $REGISTRY_ACCEPT" "http://$REGISTRY/v2/$name/manifests/$digest")" || return 1
  fi
  cfg="$(jq -r '.config.digest' <<<"$m")"
  curl -fsS "http://$REGISTRY/v2/$name/blobs/$cfg" | jq -r --arg l "$2" '.config.Labels[$l] // empty'
}

# image_current KEY REPO:TAG...: true when every tag exists and carries input key KEY.
image_current() {
  local key="$1" ref
  shift
  for ref in "$@"; do
    [[ "$(image_label "$ref" "$INPUT_KEY_LABEL" 2>/dev/null || true)" == "$key" ]] || return 1
  done
}

# bk_image_build LOGNAME NAMES ARGS...: build with the builtin Dockerfile frontend and
# push NAMES (comma-separated, full refs) to the insecure local registry. Progress
# goes to $STATE/logs/LOGNAME.log; its tail is shown on failure.
bk_image_build() {
  local logname="$1" names="$2"
  shift 2
  mkdir -p "$STATE/logs"
  local logf="$STATE/logs/$logname.log"
  if ! bctl build --progress=plain --frontend dockerfile.v0 \
    --output "type=image,\"name=$names\",push=true,registry.insecure=true" \
    "$@" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "build $logname failed (full log: $logf)"
  fi
}
