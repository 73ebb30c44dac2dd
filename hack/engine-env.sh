#!/usr/bin/env bash
# Print the engine's environment as export lines:  eval "$(hack/engine-env.sh)"
# Also puts .bin/ (buildctl, buildx, ...) first on PATH.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -s $ENV_FILE ]] || die "no engine env at $ENV_FILE; run hack/engine-up.sh first"
# The env file's values are already shell-quoted (printf %q).
grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$ENV_FILE" | sed 's/^/export /'
# shellcheck disable=SC2016  # $PATH is expanded by the caller's eval
printf 'export PATH=%q:"$PATH"\n' "$BIN"
