# Two commands on a fresh machine: `make demo` and `make test`. Everything they
# need is installed and started by hack/ (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
FUZZTIME ?= 30s
DEMO_OUT := out/demo

.PHONY: all build deps engine engine-down frontend-image peer-image unit lint-workflows fuzz editor-deps editor integration convert-equivalence test reliability demo bench release clean

all: build

build:
	$(GO) build -o .bin/frontend ./cmd/frontend

# Host tools (buildkitd, buildctl, registry, buildx) and apt packages.
deps:
	hack/deps.sh

# A registry and buildkitd on loopback, base images seeded offline.
engine: deps
	hack/engine-up.sh >/dev/null

engine-down:
	hack/engine-down.sh

# This frontend as an image for the engine's platform, pushed to the local registry
# as $FRONTEND_IMAGE and as what ghcr.io/ohlcv-rag/ohlcv-build:1 resolves to there.
frontend-image: engine
	hack/frontend-image.sh

# A release (docs/release.md): every platform, tags X.Y.Z, X.Y, X and latest,
# provenance and SBOM, reproducible, and the frontend command's archives with
# their SHA256SUMS in dist/X.Y.Z. VERSION and REGISTRY are required:
#   make release VERSION=v1.2.3 REGISTRY=ghcr.io            (CI, on a tag push)
#   make release VERSION=v0.1.0 REGISTRY=127.0.0.1:PORT      (the harness's registry)
# FORCE=1 pushes a version that exists already. No engine dependency: it uses the
# current buildx builder (BUILDX_BUILDER), the harness's or CI's.
release:
	hack/release.sh

# BuildKit's Dockerfile frontend at the pinned version, the benchmark peer.
peer-image: engine
	hack/peer-frontend.sh

# Unit tests: no daemon. No build outputs tracked, gofmt, vet, the workflows, the compiler's tests.
# After deps: internal/registry's tests run the registry binary deps puts in .bin
# (without it they build their own, minutes on a clean clone).
unit: lint-workflows deps
	hack/check-tree.sh
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n $$bad ]]; then echo "gofmt needed: $$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./test/...
	$(GO) vet -tags reliability ./test/...
	$(GO) test -race ./...

# actionlint, pinned in hack/ci-tools/go.mod (its own module: actionlint needs a
# yaml v4 release candidate other than the one hack/tools' buildkit graph selects).
# shellcheck checks the run: scripts when it is installed.
lint-workflows:
	cd hack/ci-tools && GOWORK=off $(GO) tool actionlint -no-color $(addprefix ../../,$(wildcard .github/workflows/*.yml))

fuzz:
	$(GO) test ./llbgraph -run '^$$' -fuzz FuzzLoadCompile -fuzztime $(FUZZTIME)
	$(GO) test ./convert -run '^$$' -fuzz FuzzConvert -fuzztime $(FUZZTIME)

# yaml-language-server, pinned by hack/node/package-lock.json, into .bin/node.
editor-deps:
	hack/editor-deps.sh

# The JSON Schema in a real editor's language server, over LSP (no engine).
editor: editor-deps
	$(GO) test -race -tags integration -count=1 -timeout 5m ./test/editor/...

# Integration tests on the local engine, in-process, through gateway.v0 and
# through # syntax=, and through docker buildx build and bake; then make release
# into the local registry (all platforms, tags, provenance, SBOM, each platform's
# binary), and the same release on two fresh buildkitd daemons, reproduced.
# Without -race: the unit tests run the compiler and the frontend's code under
# the race detector; here it would slow the in-process builds several times
# over and check only the harness beside them.
integration: frontend-image
	$(GO) test -tags integration -count=1 -timeout 90m -skip '^TestConvertEquivalence$$' ./test/integration/...

# The equivalence suite of `frontend convert` (docs/convert.md): each Dockerfile of
# the corpus, converted, and both built on the local engine, target for target; the
# images must match file for file. -v prints "N/M equivalent" and each entry.
convert-equivalence: engine
	$(GO) test -tags integration -count=1 -timeout 60m -run '^TestConvertEquivalence$$' -v ./test/integration/

test: unit fuzz editor integration convert-equivalence

# The reliability suite (test/reliability): secrets, load, faults, hostile
# specs, reproducible images and scale-out, each on buildkitd daemons of its
# own (the engine only lends its base images and the frontend image).
# Writes docs/reliability.md and the tested recipes of docs/scale-out.md.
reliability: frontend-image
	$(GO) test -race -tags reliability -count=1 -timeout 45m -v ./test/reliability/...

# Builds the offline twin of ohlcv.build.yaml through its `# syntax=` line with
# docker buildx, then runs the image (as its non-root user, with runc) and its
# health check.
demo: frontend-image
	@mkdir -p $(DEMO_OUT)
	eval "$$(hack/engine-env.sh)"; buildx=(docker buildx); command -v docker >/dev/null || buildx=(buildx); \
	"$${buildx[@]}" build --progress=plain -f examples/ohlcv-rag/offline.build.yaml --target runtime \
	  --output type=oci,dest=$(DEMO_OUT)/ohlcv-rag-runtime.tar examples/ohlcv-rag
	@echo; echo "== image"; $(GO) run ./hack/runimage -print $(DEMO_OUT)/ohlcv-rag-runtime.tar
	@echo; echo "== docker run ohlcv-rag (as its user, with runc)"; $(GO) run ./hack/runimage $(DEMO_OUT)/ohlcv-rag-runtime.tar
	@echo; echo "== health check"; $(GO) run ./hack/runimage -healthcheck $(DEMO_OUT)/ohlcv-rag-runtime.tar && echo healthy

# Side-by-side benchmarks; writes docs/benchmarks.md.
bench: frontend-image peer-image
	hack/bench

clean:
	rm -rf out .bin/frontend
