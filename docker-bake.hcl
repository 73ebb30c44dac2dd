# Every target of the OHLCV RAG build in one bake run: buildx sends them to the
# builder together, and BuildKit solves the stages they share (base,
# dependencies, builder, runtime...) once. The specs' `# syntax=` line selects
# the ohlcv-build frontend; BUILDKIT_SYNTAX below can point at another image.
#
#   docker buildx bake all                                   # the flagship (needs PyPI)
#   docker buildx bake --set '*.output=type=cacheonly' all   # build, keep nothing
#   SPEC=offline.build.yaml docker buildx bake all           # the offline twin
#   OHLCV_API_KEY=... docker buildx bake test                # the test target's secret

variable "SPEC" {
  # relative to the context; the flagship sits at the repository root
  default = "../../ohlcv.build.yaml"
}

variable "CONTEXT" {
  default = "examples/ohlcv-rag"
}

variable "BUILDKIT_SYNTAX" {
  # empty: the spec's own `# syntax=` line
  default = ""
}

variable "CACHE_DATE" {
  default = ""
}

variable "TAG" {
  default = "dev"
}

group "default" {
  targets = ["runtime"]
}

group "all" {
  targets = ["runtime", "development", "production", "test"]
}

target "_spec" {
  context    = CONTEXT
  dockerfile = SPEC
  args = merge(
    { CACHE_DATE = CACHE_DATE },
    BUILDKIT_SYNTAX != "" ? { BUILDKIT_SYNTAX = BUILDKIT_SYNTAX } : {},
  )
}

target "runtime" {
  inherits = ["_spec"]
  target   = "runtime"
  tags     = ["ohlcv-rag:${TAG}"]
}

target "development" {
  inherits = ["_spec"]
  target   = "development"
  tags     = ["ohlcv-rag:${TAG}-dev"]
}

target "production" {
  inherits = ["_spec"]
  target   = "production"
  tags     = ["ohlcv-rag:${TAG}-prod"]
}

target "test" {
  inherits = ["_spec"]
  target   = "test"
  secret   = ["id=api_key,env=OHLCV_API_KEY"]
  output   = ["type=cacheonly"]
}
