package spec

import (
	"fmt"
	"reflect"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxSize is the largest spec [Load] reads, in bytes. Real specs are a few
// kilobytes; the bound keeps a mistaken or hostile file from costing the
// builder memory.
const MaxSize = 1 << 20

// Load parses, decodes and validates a spec. Every problem is reported at
// once, as [*Error] values joined with [errors.Join], each naming filename,
// line, column and YAML path. Load never panics on any input.
func Load(filename string, data []byte) (s *Spec, err error) {
	if filename == "" {
		filename = DefaultFilename
	}
	if len(data) > MaxSize {
		return nil, &Error{Filename: filename, Msg: fmt.Sprintf("the spec is %s, more than the %s a spec may be; is this the right file?", byteSize(len(data)), byteSize(MaxSize))}
	}
	defer func() {
		// goccy/go-yaml is fuzzed, but a parser bug must not take the
		// builder down: report it as an error on the file instead.
		if r := recover(); r != nil {
			s, err = nil, &Error{Filename: filename, Msg: fmt.Sprintf("the YAML parser failed on this file (%v); please report it with the file attached", r)}
		}
	}()

	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, syntaxError(filename, err)
	}
	var docs int
	var body ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs++
			body = doc.Body
		}
	}
	switch {
	case docs == 0:
		return nil, &Error{Filename: filename, Range: Range{Start: Pos{1, 1}, End: Pos{1, 1}}, Msg: "the spec is empty; it needs `version: 1` and `stages:`"}
	case docs > 1:
		return nil, &Error{Filename: filename, Range: Range{Start: Pos{1, 1}, End: Pos{1, 1}}, Msg: fmt.Sprintf("the file holds %d YAML documents; a spec is one document (remove the --- separators)", docs)}
	}

	var errs errorList
	d := newDecoder(filename, &errs)
	d.collectAnchors(body)
	s = &Spec{Filename: filename, Source: data}
	d.decode("", body, reflect.ValueOf(s).Elem(), 0)
	if d.overrun {
		return nil, errs.err()
	}
	validate(s, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// syntaxError turns a goccy/go-yaml parse error into an *Error with the
// position the parser found.
func syntaxError(filename string, err error) error {
	type positioned interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if pe, ok := err.(positioned); ok {
		p := tokenPos(pe.GetToken())
		return &Error{Filename: filename, Range: Range{Start: p, End: p}, Msg: "invalid YAML: " + pe.GetMessage()}
	}
	return &Error{Filename: filename, Msg: "invalid YAML", Err: err}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
