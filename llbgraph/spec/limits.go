package spec

import "github.com/docker/go-units"

// The bounds that keep a hostile spec from exhausting a shared builder.
// Each is checked before the work it bounds, and each has an error that
// names the file, the line and column, and the limit. docs/spec.md lists
// them with what BenchmarkHostile measures at each.
const (
	// MaxSize is the largest spec [Load] reads, in bytes. Real specs are a
	// few kilobytes.
	MaxSize = 1 << 20
	// MaxNodes bounds how many YAML nodes one spec decodes to, counting
	// each use of an alias again: an alias bomb stops here.
	MaxNodes = 200_000
	// MaxExpandedBytes bounds the text one spec decodes to, counting each
	// use of an alias again: a 500 KB string used through a thousand
	// aliases stops here.
	MaxExpandedBytes = 4 * MaxSize
	// maxDepth bounds nesting.
	maxDepth = 64
)

// byteSize formats a size for messages: 1MiB, 4MiB, 10.5KiB.
func byteSize(n int) string {
	return units.BytesSize(float64(n))
}
