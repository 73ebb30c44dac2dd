#!/usr/bin/env bash
# Redraw the flagship's stage graph in docs/: the SVG with graphviz's dot (Debian's
# graphviz package, installed when missing) and the Mermaid block of docs/graph.md.
# The tests check both against `frontend graph` without needing graphviz.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v dot >/dev/null 2>&1; then
  log "apt-get install graphviz"
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz
fi
cd "$REPO"
# The command docs/graph.md shows, as it shows it.
go run ./cmd/frontend graph -f ohlcv.build.yaml --format dot | dot -Tsvg -o docs/ohlcv.build.graph.svg
go test ./llbgraph/graph -run TestDocsGraph -count=1 -update
log "redrew docs/ohlcv.build.graph.svg with $(dot -V 2>&1) and the Mermaid block of docs/graph.md"
