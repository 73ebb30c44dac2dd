#!/usr/bin/env bash
# Release the frontend: `make release VERSION=vX.Y.Z REGISTRY=<registry>`.
#
# Builds Dockerfile.frontend for every platform at once with docker buildx
# (cross-compiled on the builder's platform, no emulation) and pushes one
# multi-platform image, $REGISTRY/ohlcv-rag/ohlcv-build, tagged X.Y.Z, X.Y, X and
# latest (a pre-release such as v1.2.0-rc.1 gets only its own tag), with SLSA
# provenance (mode=max) and an SPDX SBOM per platform. Reproducible: the layers'
# and config's times are the commit's time (SOURCE_DATE_EPOCH, rewrite-timestamp).
# Before the push, it builds the `frontend` command (for `frontend check` with no
# checkout) for those platforms, macOS and Windows, as archives with a SHA256SUMS
# file in $DIST, with BuildKit too (Dockerfile.frontend's archive stage), as
# reproducible as the image. Docs: docs/release.md.
#
#   VERSION    required; vMAJOR.MINOR.PATCH[-PRERELEASE]
#   REGISTRY   required; where to push: ghcr.io, or the harness's registry
#   FORCE=1    push a version whose tag exists already
#   IMAGE      the repository, default $REGISTRY/ohlcv-rag/ohlcv-build
#   PLATFORMS  default: the seven below
#   ARCHIVE_PLATFORMS  the platforms of the frontend command's archives; default:
#              PLATFORMS, darwin/amd64, darwin/arm64 and windows/amd64; none: no archives
#   DIST       where the archives go; default dist/X.Y.Z in the repository
#   SBOM_GENERATOR  the SBOM scanner image; default: hack/sbom-scanner built and
#              pushed as $REGISTRY/ohlcv-rag/ohlcv-build-sbom-scanner (hack/sbom-scanner.sh)
#   BUILDX_BUILDER  the buildx builder (default: buildx's current one)
#   PROVENANCE default mode=max; "false" leaves provenance out. Only for checking
#              reproducibility: provenance records its build's invocation id and
#              start and end times (by design, moby/buildkit#3421), so an index
#              that carries it is never the same twice, while everything else is.
#
# Every check of the inputs runs before anything is built.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_PLATFORMS="linux/amd64,linux/arm64,linux/arm/v7,linux/386,linux/ppc64le,linux/s390x,linux/riscv64"
SOURCE_URL="https://github.com/ohlcv-rag/ohlcv-build"
# No license file in the repository yet: NOASSERTION is SPDX for "not stated".
LICENSES="${LICENSES:-NOASSERTION}"

version="${VERSION:-}"
registry="${REGISTRY:-}"
platforms="${PLATFORMS:-$DEFAULT_PLATFORMS}"
archive_platforms="${ARCHIVE_PLATFORMS:-$platforms,darwin/amd64,darwin/arm64,windows/amd64}"
provenance="${PROVENANCE:-mode=max}"

# --- bad input: fail before building, saying which ------------------------------
[[ -n $version ]] || die "VERSION is not set: make release VERSION=vX.Y.Z REGISTRY=<registry>"
# Semantic Versioning 2.0.0 with a leading v, without build metadata (a "+" cannot
# be in an image tag).
num='(0|[1-9][0-9]*)'
ident='(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)'
semver="^v$num\.$num\.$num(-$ident(\.$ident)*)?\$"
if ! [[ $version =~ $semver ]]; then
  die "VERSION=$version is not a semantic version: want vMAJOR.MINOR.PATCH (v1.2.3), or vMAJOR.MINOR.PATCH-PRERELEASE for a pre-release (v1.2.3-rc.1); no build metadata (+...)"
fi
major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
plain="${version#v}"
dist="${DIST:-$REPO/dist/$plain}"
prerelease=0
[[ $plain == *-* ]] && prerelease=1
[[ -n $registry ]] || die "REGISTRY is not set: the registry to push to, REGISTRY=ghcr.io for the real release (the image is \$REGISTRY/$IMAGE_PATH), or the harness's (\`make engine\` prints it)"
image="${IMAGE:-$registry/$IMAGE_PATH}"
command -v git >/dev/null || die "git not found"
dirty="$(git -C "$REPO" status --porcelain --untracked-files=normal)"
if [[ -n $dirty ]]; then
  die "the work tree is dirty; a release is built from a commit, so commit or stash these first:"$'\n'"$dirty"
fi
command -v jq >/dev/null || die "jq not found (apt-get install jq)"

# inspect REF: the image's manifest as imagetools shows it, or exit status 1 when
# the tag does not exist. A registry that refuses to say (ghcr.io answers "denied"
# for a package that does not exist yet) counts as not existing: the push would fail
# on the same refusal. Any other failure (no registry) is fatal.
inspect() {
  local out
  if out="$(buildx imagetools inspect --raw "$1" 2>&1)"; then
    printf '%s\n' "$out"
    return 0
  fi
  if grep -qiE 'not found|manifest unknown|name unknown' <<<"$out"; then
    return 1
  fi
  if grep -qiE 'denied|unauthorized|forbidden' <<<"$out"; then
    log "cannot read $1 ($out); taking it as not existing"
    return 1
  fi
  die "cannot inspect $1: $out"
}

if inspect "$image:$plain" >/dev/null; then
  [[ ${FORCE:-0} == 1 ]] || die "$image:$plain exists already; a release does not overwrite a version: bump VERSION, or push it again with FORCE=1"
  log "$image:$plain exists already; FORCE=1, pushing it again"
fi

# label_version REF: the org.opencontainers.image.version label of the image at REF
# (of its first platform), empty if none.
label_version() {
  buildx imagetools inspect "$1" --format '{{json .Image}}' 2>/dev/null |
    jq -r 'if has("config") then . else (to_entries[0].value) end | .config.Labels["org.opencontainers.image.version"] // empty' 2>/dev/null || true
}

# Channel tags follow the newest release: a patch release of an older line
# (v1.2.9 after v1.3.0) moves 1.2 but leaves 1 and latest where they are.
tags=("$plain")
if ((prerelease == 0)); then
  for channel in "$major.$minor" "$major" latest; do
    current="$(label_version "$image:$channel")"
    current="${current#v}"
    if [[ $current =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && $current != "$plain" &&
      "$(printf '%s\n%s\n' "$current" "$plain" | sort -V | tail -n1)" == "$current" ]]; then
      log "$image:$channel stays at the newer $current"
      continue
    fi
    tags+=("$channel")
  done
fi

revision="$(git -C "$REPO" rev-parse HEAD)"
epoch="$(git -C "$REPO" log -1 --format=%ct HEAD)"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"

# --- the SBOM scanner ------------------------------------------------------------
generator="${SBOM_GENERATOR:-}"
if [[ -z $generator ]]; then
  generator="$("$REPO/hack/sbom-scanner.sh" "$registry/$IMAGE_PATH-sbom-scanner")"
fi

# --- the frontend command's archives, then the image ------------------------------
names=""
for t in "${tags[@]}"; do names+="${names:+,}$image:$t"; done
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ohlcv-release.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
build_args=(
  --build-arg "VERSION=$version"
  --build-arg "REVISION=$revision"
  --build-arg "SOURCE_DATE_EPOCH=$epoch"
)
start=$SECONDS
if [[ $archive_platforms != none ]]; then
  log "building the frontend command's archives for $archive_platforms"
  buildx build --progress="${PROGRESS:-plain}" \
    --file "$REPO/Dockerfile.frontend" --target archive \
    --platform "$archive_platforms" \
    "${build_args[@]}" \
    --output "type=local,dest=$tmp/archives,platform-split=false" \
    "$REPO"
  (cd "$tmp/archives" && sha256sum -- ohlcv-build-frontend_* >SHA256SUMS)
fi
log "releasing $image $version (commit $revision, $created) for $platforms"
log "tags: ${tags[*]}"
buildx build --progress="${PROGRESS:-plain}" \
  --file "$REPO/Dockerfile.frontend" \
  --platform "$platforms" \
  "${build_args[@]}" \
  --build-arg "CREATED=$created" \
  --build-arg "SOURCE_URL=$SOURCE_URL" \
  --build-arg "LICENSES=$LICENSES" \
  --provenance "$provenance" \
  --sbom "generator=$generator,SOURCE_DATE_EPOCH=$epoch" \
  --output "type=image,\"name=$names\",push=true,rewrite-timestamp=true,oci-mediatypes=true" \
  --metadata-file "$tmp/metadata.json" \
  "$REPO"
digest="$(jq -r '."containerimage.digest"' "$tmp/metadata.json")"
[[ $digest == sha256:* ]] || die "buildx reported no image digest (metadata: $(cat "$tmp/metadata.json"))"
if [[ $archive_platforms != none ]]; then
  # Only this release's files are replaced in $dist; anything else there stays.
  mkdir -p "$dist"
  rm -f "$dist"/ohlcv-build-frontend_* "$dist/SHA256SUMS"
  mv "$tmp/archives"/* "$dist/"
fi

echo
echo "released $image@$digest in $((SECONDS - start))s"
echo "  version  $version (commit $revision)"
echo "  created  $created (SOURCE_DATE_EPOCH=$epoch, the commit time)"
for t in "${tags[@]}"; do echo "  tag      $image:$t"; done
echo "  sbom     generated by $generator"
echo "  provenance  $provenance"
if [[ $archive_platforms != none ]]; then
  echo "  archives $dist"
  sed 's/^/    /' "$dist/SHA256SUMS"
fi
echo
buildx imagetools inspect "$image@$digest"
