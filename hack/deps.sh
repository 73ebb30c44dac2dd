#!/usr/bin/env bash
# Install what the local BuildKit engine needs: a few apt packages and the pinned
# Go tools from hack/tools (buildkitd, buildctl, registry, buildx) into .bin/.
# Idempotent: installed packages and up-to-date binaries are skipped. FORCE=1 rebuilds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# runc: the OCI worker's runtime. debootstrap + keyring: the debian base image.
# busybox-static: the busybox base image. jq/curl: registry checks in the scripts.
apt_pkgs=(runc debootstrap debian-archive-keyring busybox-static jq curl git)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  # A failing third-party source must not block the Debian mirror.
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "apt packages present: ${apt_pkgs[*]}"
fi

command -v go >/dev/null 2>&1 || die "go not found in PATH (expected /usr/local/go/bin)"

# Only what runs on the host. dockerfile-frontend (also a tool in hack/tools) is
# built inside an image by hack/peer-frontend.sh instead.
tool_pkgs=(
  github.com/moby/buildkit/cmd/buildkitd
  github.com/moby/buildkit/cmd/buildctl
  github.com/distribution/distribution/v3/cmd/registry
  github.com/docker/buildx/cmd/buildx
)
# Linking four large binaries takes a while even from Go's build cache, so skip the
# build when go.mod/go.sum, the Go version and the binaries are unchanged.
stamp="$BIN/.tools-stamp"
# Stamp the pinned versions in (a plain `go build` reports v0.0.0+unknown, which is
# what buildx and `buildctl debug info` would then show for the daemon).
modver() { (cd "$TOOLS_DIR" && GOWORK=off go list -m -f '{{.Version}}' "$1"); }
ldflags="-X github.com/moby/buildkit/version.Version=$(modver github.com/moby/buildkit)"
ldflags+=" -X github.com/docker/buildx/version.Version=$(modver github.com/docker/buildx)"
key="$(hash_inputs "$TOOLS_DIR/go.mod" "$TOOLS_DIR/go.sum" "$(go version)" "${tool_pkgs[*]}" "$ldflags")"
have_all=1
for p in "${tool_pkgs[@]}"; do [[ -x "$BIN/${p##*/}" ]] || have_all=0; done
if [[ ${FORCE:-0} != 1 && $have_all == 1 && -f $stamp && "$(<"$stamp")" == "$key" ]]; then
  log "tools in $BIN are up to date"
else
  log "building ${tool_pkgs[*]##*/} into $BIN (first build takes several minutes)"
  mkdir -p "$BIN"
  # GOWORK=off: the tools module must build with its own pins, not a workspace's.
  (cd "$TOOLS_DIR" && GOWORK=off go build -ldflags "$ldflags" -o "$BIN/" "${tool_pkgs[@]}")
  echo "$key" >"$stamp"
fi
"$BIN/buildctl" --version >&2

# buildx as a docker CLI plugin: a copy, not a symlink, so that deleting this checkout
# (or another one that ran this script) does not leave docker buildx dangling.
# Without a docker CLI the scripts call .bin/buildx directly.
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
if ! cmp -s "$BIN/buildx" "$plugins/docker-buildx"; then
  install -m 0755 "$BIN/buildx" "$plugins/docker-buildx.tmp"
  mv -f "$plugins/docker-buildx.tmp" "$plugins/docker-buildx"
fi
if command -v docker >/dev/null 2>&1; then
  docker buildx version >&2
else
  log "no docker CLI here; use $BIN/buildx (the hack scripts do so automatically)"
fi
