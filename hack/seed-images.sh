#!/usr/bin/env bash
# Seed the local registry with the base images builds need, built offline (no Docker
# Hub here). All go under library/ so that "debian:bookworm-slim" and friends resolve
# through buildkitd's docker.io mirror. Each image carries a label with the hash of its
# inputs; an image already in the registry with the same hash is skipped, so reruns
# take a second. FORCE=1 rebuilds all.
#
# Images are linux/amd64 only. The worker also runs linux/386 natively; add a
# --opt platform=linux/amd64,linux/386 build (and a 386 rootfs) if a test needs it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_env
lock seed

force="${FORCE:-0}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ohlcv-seed.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# seed NAME KEY TAG... -- BUILDCTL-ARGS...: build+push unless current.
seed() {
  local name="$1" key="$2" tags=() refs=() t
  shift 2
  while [[ $1 != -- ]]; do
    tags+=("$1")
    shift
  done
  shift
  for t in "${tags[@]}"; do refs+=("library/$name:$t"); done
  if [[ $force != 1 ]] && image_current "$key" "${refs[@]}"; then
    log "library/$name:{$(IFS=,; echo "${tags[*]}")} present, skipping"
    return 0
  fi
  local start=$SECONDS names
  names="$(printf '%s,' "${refs[@]/#/$REGISTRY/}")"
  log "building library/$name:{$(IFS=,; echo "${tags[*]}")}"
  bk_image_build "seed-$name" "${names%,}" --opt "build-arg:INPUT_KEY=$key" "$@"
  log "pushed library/$name in $((SECONDS - start))s"
}

# --- busybox: busybox-static from this machine, FROM scratch -----------------------
ctx="$tmp/busybox"
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc" "$ctx/rootfs/root" "$ctx/rootfs/tmp" "$ctx/rootfs/var/spool/mail" "$ctx/rootfs/home"
chmod 1777 "$ctx/rootfs/tmp"
chmod 700 "$ctx/rootfs/root"
cp /bin/busybox "$ctx/rootfs/bin/busybox"
# Applet symlinks like `busybox --install -s`, but all in /bin as in the official image.
for a in $(/bin/busybox --list); do
  [[ $a == busybox ]] || ln -s busybox "$ctx/rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$ctx/rootfs/etc/group"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ARG INPUT_KEY
LABEL org.ohlcv-build.input-key=$INPUT_KEY
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
EOF
seed busybox "$(hash_inputs "$ctx")" latest 1.36 -- \
  --local "context=$ctx" --local "dockerfile=$ctx"

# --- debian:bookworm-slim: debootstrap minbase + this machine's CA trust -----------
# https from inside builds goes through a TLS-intercepting proxy whose CA is in this
# machine's trust store, so every image carries the bundle and the local CA files
# (the latter survive update-ca-certificates when ca-certificates is installed).
ctx="$tmp/debian"
mkdir -p "$ctx/apt.conf.d" "$ctx/local-ca"
cp -L /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
find /usr/local/share/ca-certificates -maxdepth 1 -type f -name '*.crt' -exec cp -L {} "$ctx/local-ca/" \; 2>/dev/null || true
# The sources and apt settings of the official image (debuerreotype). Our apt preset
# removes docker-clean, so the base must have it for that code path to matter.
cat >"$ctx/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$ctx/apt.conf.d/docker-clean" <<'EOF'
# Since for most Docker users, package installs happen in "docker build" steps,
# they essentially become individual layers due to the way Docker handles
# layering, especially using CoW filesystems.  What this means for us is that
# the caches that APT keeps end up just wasting space in those layers, making
# our layers unnecessarily large (especially since we'll normally never use
# these caches again and will instead just "docker build" again and make a brand
# new image).

# Ideally, these would just be invoking "apt-get clean", but in our testing,
# that ended up being cyclic and we got stuck on APT's lock, so we get this fun
# creation that's essentially just "apt-get clean".
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };

Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";

# Note that we do realize this isn't the ideal way to do this, and are always
# open to better suggestions (https://github.com/debuerreotype/debuerreotype/issues).
EOF
cat >"$ctx/apt.conf.d/docker-autoremove-suggests" <<'EOF'
Apt::AutoRemove::SuggestsImportant "false";
EOF
cat >"$ctx/apt.conf.d/docker-no-languages" <<'EOF'
Acquire::Languages "none";
EOF
cat >"$ctx/apt.conf.d/docker-gzip-indexes" <<'EOF'
Acquire::GzipIndexes "true";
EOF
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
COPY debian.sources /etc/apt/sources.list.d/debian.sources
COPY apt.conf.d/ /etc/apt/apt.conf.d/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY local-ca/ /usr/local/share/ca-certificates/
ARG INPUT_KEY
LABEL org.ohlcv-build.input-key=$INPUT_KEY
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["bash"]
EOF
# Bump when the rootfs recipe below changes (the tarball cache is keyed on it).
rootfs_recipe=bookworm-minbase-v1
rootfs_tar="$CACHE_DIR/debian-$rootfs_recipe.tar"

# umount_under DIR: debootstrap mounts proc/sys inside its target; never rm -rf a tree
# with live mounts in it (that would walk into the host's /proc or /sys).
umount_under() {
  local m
  findmnt -rn -o TARGET | awk -v d="$1/" 'index($0 "/", d) == 1' | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  if findmnt -rn -o TARGET | awk -v d="$1/" 'index($0 "/", d) == 1' | grep -q .; then
    die "mounts left under $1, not deleting it"
  fi
}

make_rootfs_tar() {
  [[ -s $rootfs_tar ]] && return 0
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing; run hack/deps.sh"
  mkdir -p "$CACHE_DIR"
  local work
  work="$(mktemp -d "$CACHE_DIR/debootstrap.XXXXXX")"
  local start=$SECONDS
  log "debootstrap bookworm (minbase) into $work (about a minute)"
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$STATE/logs/debootstrap.log" 2>&1; then
    tail -n 30 "$STATE/logs/debootstrap.log" >&2
    umount_under "$work"
    rm -rf "$work"
    die "debootstrap failed (log: $STATE/logs/debootstrap.log)"
  fi
  umount_under "$work"
  local r="${work:?}/rootfs"
  # Like the official slim image: no apt lists/caches, no logs, an empty /dev (the
  # runtime provides it), no host identity (resolv.conf, hostname are provided per
  # container), apt sources in deb822 form (added by the Dockerfile).
  rm -rf "${r:?}"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/log/bootstrap.log "${r:?}"/dev/* "$r"/etc/hostname "$r"/etc/resolv.conf \
    "$r"/etc/apt/sources.list "$r"/tmp/* "$r"/run/*
  mkdir -p "$r/var/lib/apt/lists/partial"
  : >"$r/etc/machine-id"
  tar --numeric-owner --sort=name -C "$r" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$rootfs_tar"
  rm -rf "$work"
  log "rootfs tarball $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1)) in $((SECONDS - start))s"
}

debian_key="$(hash_inputs "$ctx" "$rootfs_recipe")"
if [[ $force == 1 ]] || ! image_current "$debian_key" library/debian:bookworm-slim library/debian:bookworm; then
  mkdir -p "$STATE/logs"
  make_rootfs_tar
  # A hard link keeps the 200 MB tarball out of /tmp when on the same filesystem.
  ln "$rootfs_tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$ctx/rootfs.tar"
fi
seed debian "$debian_key" bookworm-slim bookworm -- \
  --local "context=$ctx" --local "dockerfile=$ctx"

# --- python:3.11-slim: bookworm's python3 is 3.11 -----------------------------------
ctx="$tmp/python"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
ENV LANG=C.UTF-8
# EXTERNALLY-MANAGED removed: the official image lets `pip install` into the system
# interpreter; Debian's marker file would refuse it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip python-is-python3 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && python --version && python3 --version && python3 -m pip --version && python3 -c 'import venv, ssl'
ENV PYTHON_VERSION=3.11
ARG INPUT_KEY
LABEL org.ohlcv-build.input-key=$INPUT_KEY
CMD ["python3"]
EOF
seed python "$(hash_inputs "$ctx" "$debian_key")" 3.11-slim 3.11 -- \
  --local "context=$ctx" --local "dockerfile=$ctx"

# --- golang:1.26-bookworm: debian + this machine's Go toolchain ---------------------
goroot="$(go env GOROOT)"
goversion="$(go env GOVERSION)"
[[ $goversion == go1.26* ]] || log "WARNING: host Go is $goversion but the image is tagged golang:1.26"
ctx="$tmp/golang"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
ARG GOLANG_VERSION
# GOTOOLCHAIN=local as in the official image: never try to download another toolchain.
ENV GOLANG_VERSION=$GOLANG_VERSION GOTOOLCHAIN=local GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:$PATH
# "goroot" is a named context: the host's GOROOT, sent without copying it first.
COPY --from=goroot / /usr/local/go
RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH" && go version
WORKDIR $GOPATH
ARG INPUT_KEY
LABEL org.ohlcv-build.input-key=$INPUT_KEY
EOF
seed golang "$(hash_inputs "$ctx" "$debian_key" "$goversion" "goroot=$goroot")" 1.26-bookworm 1.26 -- \
  --local "context=$ctx" --local "dockerfile=$ctx" \
  --local "goroot=$goroot" --opt "context:goroot=local:goroot" \
  --opt "build-arg:GOLANG_VERSION=${goversion#go}"
