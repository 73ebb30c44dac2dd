package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"go.yaml.in/yaml/v3"
)

// Load parses, decodes and validates a spec. Every problem is reported at
// once, as [*Error] values joined with [errors.Join], each naming filename,
// line, column and YAML path. Load never panics, and for any input of at
// most [MaxSize] it stays within the bounds docs/spec.md lists.
//
// The YAML is YAML: anchors resolve to the nearest earlier definition, merge
// keys (<<) work, a UTF-8 byte order mark and a %YAML 1.2 directive are
// accepted. A file that is not UTF-8 is refused with the position of the
// first bad byte; UTF-16 is named as such.
func Load(filename string, data []byte) (s *Spec, err error) {
	if filename == "" {
		filename = DefaultFilename
	}
	if len(data) > MaxSize {
		return nil, &Error{Filename: filename, Msg: fmt.Sprintf("the spec is %s, more than the %s a spec may be; is this the right file?", byteSize(len(data)), byteSize(MaxSize))}
	}
	defer func() {
		// The YAML parser is fuzzed, but a parser bug must not take the
		// builder down: report it as an error on the file instead.
		if r := recover(); r != nil {
			s, err = nil, &Error{Filename: filename, Msg: fmt.Sprintf("the YAML parser failed on this file (%v); please report it with the file attached", r)}
		}
	}()
	text, err := checkText(filename, data)
	if err != nil {
		return nil, err
	}
	root, err := parseDocument(filename, text)
	if err != nil {
		return nil, err
	}
	errs := &errorList{filename: filename, skip: map[string]bool{}}
	d := &decoder{errs: errs, nodes: MaxNodes, bytes: MaxExpandedBytes}
	s = &Spec{Filename: filename, Source: data}
	d.decodeStruct(loc{idx: -1}, root, reflect.ValueOf(s).Elem(), 0)
	if d.stopped {
		return nil, errs.err()
	}
	validate(s, errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseDocument parses the one YAML document of a spec into a node tree.
// Aliases stay unexpanded: the decoder expands them, within its budgets.
func parseDocument(filename string, text []byte) (*yaml.Node, error) {
	if blank(text) {
		return nil, emptySpec(filename)
	}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(filename, text, err)
		}
		if len(doc.Content) > 0 && !isNull(doc.Content[0]) {
			docs = append(docs, doc.Content[0])
		}
	}
	switch {
	case len(docs) == 0:
		return nil, emptySpec(filename)
	case len(docs) > 1:
		return nil, &Error{Filename: filename, Range: Range{Start: Pos{1, 1}, End: Pos{1, 1}}, Msg: fmt.Sprintf("the file holds %d YAML documents; a spec is one document (remove the --- separators)", len(docs))}
	}
	return docs[0], nil
}

// emptySpec is the error for a spec with nothing in it.
func emptySpec(filename string) error {
	return &Error{Filename: filename, Range: Range{Start: Pos{1, 1}, End: Pos{1, 1}}, Msg: "the spec is empty; it needs `version: 1` and `stages:`"}
}

// blank reports whether text holds only white space and comments: an empty
// spec, which the parser would call a syntax error when a tab starts a
// line. It stops at the first line with something else on it.
func blank(text []byte) bool {
	for line := range bytes.Lines(text) {
		if line = bytes.TrimLeft(line, " \t\r\n"); len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

var yamlErrRe = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// maxSyntaxDetail bounds the size of a file whose syntax error gets a
// second, more precise reading (see syntaxError).
const maxSyntaxDetail = 64 << 10

// syntaxError turns a YAML parse error into an *Error. The parser that
// builds the tree names a line at best; for a file of ordinary size the
// error is found again with goccy/go-yaml, which names the line and column
// of the offending token and says more about it. goccy costs more than
// linear time on some hostile inputs, so it reads only files of at most
// 64 KiB with shallow flow nesting, and a parser crash there is recovered.
// Its "not allowed in this context" gets a hint instead where the lines
// around it show what is wrong (see syntaxHint).
func syntaxError(filename string, text []byte, err error) error {
	if m := unknownAnchorRe.FindStringSubmatch(err.Error()); m != nil {
		return unknownAlias(filename, text, m[1])
	}
	if end, endLine, after := documentEnd(text); end > 0 {
		// The parser says only "did not find expected <document start>"
		// of text after the end of the document.
		var doc yaml.Node
		if yaml.Unmarshal(text[:end], &doc) == nil {
			return &Error{Filename: filename, Range: Range{Start: after, End: after}, Msg: fmt.Sprintf("text after the end-of-document marker `...` on line %d: a spec is one YAML document; remove the `...` line or the text after it", endLine)}
		}
		text = text[:end] // the document itself is wrong: say where
	}
	if e := goccySyntaxError(filename, text); e != nil {
		return e
	}
	line, msg := 1, err.Error()
	if m := yamlErrRe.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	col := 1
	if lines := bytes.Split(text, []byte("\n")); line >= 1 && line <= len(lines) {
		l := lines[line-1]
		col = utf8.RuneCount(l[:len(l)-len(bytes.TrimLeft(l, " \t"))]) + 1
	}
	p := Pos{Line: line, Column: col}
	return &Error{Filename: filename, Range: Range{Start: p, End: p}, Msg: "invalid YAML: " + msg}
}

// documentEnd finds text after a document-end marker (a line `...`) that
// is neither a comment nor a new document (---). It returns the length of
// the text up to the end of the marker's line, the marker's line and where
// the text after it starts; a zero length when there is no such text.
func documentEnd(text []byte) (end, endLine int, after Pos) {
	n, off := 0, 0
	for line := range bytes.Lines(text) {
		n, off = n+1, off+len(line)
		line = bytes.TrimRight(line, "\r\n")
		trimmed := bytes.TrimLeft(line, " \t")
		switch {
		case isMarker(line, "..."):
			end, endLine = off, n
		case end == 0 || len(trimmed) == 0 || trimmed[0] == '#':
		case isMarker(line, "---") || line[0] == '%':
			return 0, 0, Pos{} // a new document
		default:
			return end, endLine, Pos{Line: n, Column: utf8.RuneCount(line[:len(line)-len(trimmed)]) + 1}
		}
	}
	return 0, 0, Pos{}
}

// isMarker reports whether line is the document marker m (--- or ...),
// with nothing after it but a comment.
func isMarker(line []byte, m string) bool {
	rest, ok := bytes.CutPrefix(line, []byte(m))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t')
}

var unknownAnchorRe = regexp.MustCompile(`unknown anchor '(.*)' referenced$`)

// unknownAlias reports an alias whose anchor is not defined before it, at
// the first *name in the text.
func unknownAlias(filename string, text []byte, name string) error {
	p := Pos{Line: 1, Column: 1}
	if i := bytes.Index(text, []byte("*"+name)); i >= 0 {
		line := bytes.Count(text[:i], []byte("\n")) + 1
		start := bytes.LastIndexByte(text[:i], '\n') + 1
		p = Pos{Line: line, Column: utf8.RuneCount(text[start:i]) + 1}
	}
	return &Error{Filename: filename, Range: Range{Start: p, End: p}, Msg: fmt.Sprintf("unknown alias *%s: an alias names an anchor (&%s) defined before it", Shorten(name), Shorten(name))}
}

// goccySyntaxError returns goccy/go-yaml's positioned error for text, or
// nil when text is too big for it or it finds no error.
func goccySyntaxError(filename string, text []byte) (e *Error) {
	if len(text) > maxSyntaxDetail || flowDepth(text) > maxDepth {
		return nil
	}
	defer func() {
		if recover() != nil {
			e = nil
		}
	}()
	_, err := parser.ParseBytes(text, 0)
	type positioned interface {
		GetToken() *token.Token
		GetMessage() string
	}
	pe, ok := err.(positioned)
	if !ok || pe.GetToken() == nil || pe.GetToken().Position == nil {
		return nil
	}
	p := Pos{Line: pe.GetToken().Position.Line, Column: pe.GetToken().Position.Column}
	msg := pe.GetMessage()
	if strings.Contains(msg, "not allowed in this context") {
		if at, hint, ok := syntaxHint(text, p); ok {
			p, msg = at, hint
		}
	}
	return &Error{Filename: filename, Range: Range{Start: p, End: p}, Msg: "invalid YAML: " + msg}
}

// flowDepth returns how deeply [ and { nest in text, counting every one:
// an upper bound, which is all goccySyntaxError needs.
func flowDepth(text []byte) int {
	depth, deepest := 0, 0
	for _, c := range text {
		switch c {
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return deepest
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// checkText checks that data is UTF-8 text that YAML allows and returns it
// ready for the parser: without a byte order mark, and with a %YAML 1.2
// directive read as the 1.1 the parser knows (the two mean the same for a
// spec).
func checkText(filename string, data []byte) ([]byte, error) {
	if len(data) >= 2 && (data[0] == 0 || data[1] == 0 || (data[0] == 0xfe && data[1] == 0xff) || (data[0] == 0xff && data[1] == 0xfe)) {
		return nil, &Error{Filename: filename, Range: Range{Start: Pos{1, 1}, End: Pos{1, 1}}, Msg: "the spec is UTF-16 (or UTF-32) text; save it as UTF-8"}
	}
	text := bytes.TrimPrefix(data, utf8BOM)
	line, col := 1, 1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		pos := Range{Start: Pos{line, col}, End: Pos{line, col + 1}}
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, &Error{Filename: filename, Range: pos, Msg: fmt.Sprintf("the spec is not valid UTF-8: byte 0x%02x here does not start a character; save the file as UTF-8", text[i])}
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0 && r != 0x85):
			return nil, &Error{Filename: filename, Range: pos, Msg: fmt.Sprintf("control character U+%04X is not allowed in YAML text; write it as an escape (\\x%02x) in a double-quoted string", r, r)}
		}
		i += size
		col++
	}
	return rewriteDirective(filename, text)
}

var directiveRe = regexp.MustCompile(`(?m)\A((?:[ \t]*(?:#.*)?\r?\n)*)%YAML[ \t]+(\S+)`)

// rewriteDirective reads %YAML 1.2 (and 1.0) as 1.1, the version the
// parser accepts; the difference does not touch what a spec can say. Other
// versions are refused.
func rewriteDirective(filename string, text []byte) ([]byte, error) {
	m := directiveRe.FindSubmatchIndex(text)
	if m == nil {
		return text, nil
	}
	version := string(text[m[4]:m[5]])
	switch version {
	case "1.1":
		return text, nil
	case "1.0", "1.2":
		out := bytes.Clone(text)
		copy(out[m[4]:m[5]], "1.1")
		return out, nil
	}
	line := bytes.Count(text[:m[4]], []byte("\n")) + 1
	p := Pos{Line: line, Column: 7}
	return nil, &Error{Filename: filename, Range: Range{Start: p, End: p}, Msg: fmt.Sprintf("%%YAML %s is not supported: a spec is YAML 1.2 (or 1.1)", Shorten(version))}
}
