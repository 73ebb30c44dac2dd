// Package schema holds the JSON Schema of ohlcv.build.yaml (draft 2020-12),
// generated from the typed model in llbgraph/spec by schema/internal/gen and
// committed as ohlcv.build.schema.json, so editors with yaml-language-server
// complete and check specs (docs/editors.md). `frontend schema` prints it.
//
// Regenerate it after changing the spec types:
//
//	go test ./schema -run TestSchemaIsUpToDate -update
package schema

import (
	"bytes"
	_ "embed" // for the schema file
)

// Filename is the schema's file name, in this directory of the repository.
const Filename = "ohlcv.build.schema.json"

// URL is where the schema of the main branch is served; it is the schema's
// $id, and the address a `# yaml-language-server: $schema=...` modeline or an
// editor's schema mapping names.
const URL = "https://raw.githubusercontent.com/ohlcv-rag/ohlcv-build/main/schema/" + Filename

//go:embed ohlcv.build.schema.json
var schemaJSON []byte

// JSON returns a copy of the schema document, as committed.
func JSON() []byte { return bytes.Clone(schemaJSON) }
