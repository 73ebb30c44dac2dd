#!/usr/bin/env bash
# Install the editor tooling the tests drive: yaml-language-server, pinned by
# hack/node/package.json and package-lock.json, into .bin/node/ (ignored by git
# and by the image builds' .dockerignore). Node.js and npm come from the machine,
# or from Debian's packages when missing. Idempotent: `npm ci` runs only when the
# lock file changed since the last install. FORCE=1 reinstalls.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "apt-get install nodejs npm (no node or npm on PATH)"
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi

src="$REPO/hack/node"
dst="$BIN/node"
stamp="$dst/.lock-stamp"
key="$(hash_inputs "$src/package.json" "$src/package-lock.json" "$(node --version)")"
server="$dst/node_modules/yaml-language-server/bin/yaml-language-server"
if [[ ${FORCE:-0} != 1 && -f $stamp && "$(<"$stamp")" == "$key" && -f $server ]]; then
  log "yaml-language-server in $dst is up to date"
else
  log "npm ci in $dst (yaml-language-server, pinned by hack/node/package-lock.json)"
  mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  # --ignore-scripts: nothing in the tree needs an install script.
  (cd "$dst" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$key" >"$stamp"
fi
log "yaml-language-server $(node -p "require('$dst/node_modules/yaml-language-server/package.json').version") at $server"
