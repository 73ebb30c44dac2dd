// Package convert turns a Dockerfile into an ohlcv.build.yaml that builds
// the same images, target for target. It reads the Dockerfile with
// BuildKit's own parser and instructions packages, and writes the spec as
// a YAML node tree, with the Dockerfile's comments where they stood.
//
// Faithful first: a RUN stays the command it was, even where a preset
// would say it shorter (a comment beside it names the preset), and what
// the spec cannot say the same way is an error naming the line (gaps.go),
// never an approximation. The result is loaded with spec.Load before it is
// returned, so a conversion either gives a valid spec or fails.
//
// The package is pure: no daemon, no registry, no files but the bytes it
// is given. docs/convert.md describes what it does and what it refuses.
package convert

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxSize is the largest Dockerfile Convert reads, as the spec bounds
// itself: any input up to it converts, or fails, within a second and
// 256 MB.
const MaxSize = spec.MaxSize

// SyntaxLine is the first line of every spec Convert writes: the released
// frontend, which docker buildx then builds the spec with.
const SyntaxLine = "# syntax=ghcr.io/ohlcv-rag/ohlcv-build:1"

// maxErrors bounds the problems one conversion reports.
const maxErrors = 50

// maxLines and maxWords bound the lines of instructions (neither blank
// nor comments) and the blank-separated words in them that a conversion
// reads. They are checked before BuildKit's parser runs: the parser and
// the instructions package take about a kilobyte per word of ENV, LABEL
// or ARG and a few per instruction, so a megabyte of those would cost more
// than the 256 MB a conversion may. Real Dockerfiles have a few hundred
// lines and a few thousand words.
const (
	maxLines = 2000
	maxWords = 20000
)

// contentSize counts the lines of dt that are neither blank nor comments,
// and the words in them.
func contentSize(dt []byte) (lines, words int) {
	for len(dt) > 0 {
		line := dt
		if i := bytes.IndexByte(dt, '\n'); i >= 0 {
			line, dt = dt[:i], dt[i+1:]
		} else {
			dt = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			lines++
			words += countFields(line)
		}
	}
	return lines, words
}

// countFields counts the blank-separated words of line without making
// them.
func countFields(line []byte) int {
	n, in := 0, false
	for _, b := range line {
		blank := b == ' ' || b == '\t' || b == '\r'
		if !blank && !in {
			n++
		}
		in = !blank
	}
	return n
}

// Options are what Convert takes besides the Dockerfile.
type Options struct {
	// Filename names the Dockerfile in errors; "Dockerfile" when empty.
	Filename string
	// Target, when set, converts only the stages this stage reaches.
	Target string
}

// Result is a converted Dockerfile.
type Result struct {
	// Spec is the ohlcv.build.yaml, starting with SyntaxLine.
	Spec []byte
	// Stages are the spec's stage names in order; each is a target, as
	// the Dockerfile's stage of the same place is. Unnamed stages are
	// called stage-N, N being their index, which --from=N named.
	Stages []string
	// Targets are the stages a Dockerfile build can name as its target:
	// the named ones.
	Targets []string
}

// Error is one thing of a Dockerfile that does not convert, at its line.
type Error struct {
	// File is the Dockerfile's name.
	File string
	// Line is the Dockerfile line, from 1; 0 when the problem has none.
	Line int
	// Msg says what is wrong, and what to do.
	Msg string
}

// Error formats the error as file:line: message, with the characters that
// could forge output escaped.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", spec.Escape(e.File), e.Line, spec.Escape(e.Msg))
	}
	return spec.Escape(e.File) + ": " + spec.Escape(e.Msg)
}

// Convert converts the Dockerfile dt. On failure it returns every problem
// it found (up to 50), each an *Error, joined.
func Convert(dt []byte, opt Options) (*Result, error) {
	c := &converter{file: opt.Filename, args: newArgTable(), origin: map[*yaml.Node]int{}, byName: map[string]*stage{}}
	if c.file == "" {
		c.file = "Dockerfile"
	}
	if len(dt) > MaxSize {
		return nil, &Error{File: c.file, Msg: fmt.Sprintf("the Dockerfile is %d bytes, more than the %d a Dockerfile may be here", len(dt), MaxSize)}
	}
	if lines, words := contentSize(dt); lines > maxLines || words > maxWords {
		return nil, &Error{File: c.file, Msg: fmt.Sprintf("the Dockerfile has %d lines and %d words of instructions, more than the %d lines and %d words a conversion reads", lines, words, maxLines, maxWords)}
	}
	skip, check := c.directives(dt)
	if err := c.err(); err != nil {
		return nil, err
	}
	parsed, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, c.parseError(err)
	}
	dfStages, meta, err := instructions.Parse(parsed.AST, nil)
	if err != nil {
		return nil, c.parseError(err)
	}
	if len(dfStages) == 0 {
		return nil, &Error{File: c.file, Msg: "the Dockerfile has no FROM, so no stage to convert"}
	}
	c.escape = parsed.EscapeToken
	c.lex = newLexers(c.escape)
	c.comments = collectComments(dt, skip, spans(parsed.AST))
	if err := c.plan(dfStages, meta, opt.Target); err != nil {
		return nil, err
	}
	doc := c.document(meta, check)
	c.spend(textLen(c.comments.head) + textLen(c.comments.foot))
	if err := c.err(); err != nil {
		return nil, err
	}
	out, err := c.encode(doc)
	if err != nil {
		return nil, err
	}
	res := &Result{Spec: out, Stages: namesOf(c.stages)}
	for _, st := range c.stages {
		if st.df.Name != "" {
			res.Targets = append(res.Targets, st.name)
		}
	}
	return res, nil
}

// converter holds one conversion.
type converter struct {
	file     string
	escape   rune
	lex      *lexers
	errs     []*Error
	dropped  int
	comments *comments
	args     *argTable
	stages   []*stage          // the stages converted, in order
	all      []*stage          // every stage of the Dockerfile
	byName   map[string]*stage // by lowercase name
	// origin is the Dockerfile line of a node of the spec, to put a
	// problem spec.Load finds at the instruction it came from.
	origin map[*yaml.Node]int
	// spent counts the text and the scope entries the conversion made, to
	// stop it at maxWork.
	spent int
}

// maxWork bounds the work of one conversion: the bytes of spec text it
// writes (a real Dockerfile makes a few kilobytes) and the entries of the
// scopes it copies. A hostile Dockerfile (thousands of ARGs
// inherited by thousands of runs or stages) stops here, in linear time,
// before the spec is encoded.
const maxWork = MaxSize / 2

// spend counts n units of work; the first time the total passes maxWork it
// records the error.
func (c *converter) spend(n int) {
	c.spent += n
	if c.spent > maxWork && c.spent-n <= maxWork {
		c.errorf(0, nil, "converting it makes more than %d bytes of spec, more than a conversion makes (are many ARGs in scope of many RUNs, or many stages?)", maxWork)
	}
}

// over reports whether the conversion has passed maxWork.
func (c *converter) over() bool { return c.spent > maxWork }

// errorf records a problem at line; g is the gap it falls in, or nil.
func (c *converter) errorf(line int, g *gap, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		c.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if g != nil {
		if msg != "" {
			msg += ": "
		}
		msg += "cannot convert " + g.what + ": " + g.why
		if g.until != "" {
			msg += " (until the spec has " + g.until + ")"
		}
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Msg: msg})
}

// err joins the problems recorded, sorted by line.
func (c *converter) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int { return a.Line - b.Line })
	errs := make([]error, 0, len(c.errs)+1)
	for _, e := range c.errs {
		errs = append(errs, e)
	}
	if c.dropped > 0 {
		errs = append(errs, &Error{File: c.file, Msg: fmt.Sprintf("and %d more problems: fix these first", c.dropped)})
	}
	return errors.Join(errs...)
}

// parseError is a parser's error at the Dockerfile line it names.
func (c *converter) parseError(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return &Error{File: c.file, Line: le.Locations[0][0].Start.Line, Msg: le.Unwrap().Error()}
	}
	return &Error{File: c.file, Msg: err.Error()}
}

// directives reads the parser directives at the top of dt. It returns the
// number of lines they take, and the check directive's value, if any.
func (c *converter) directives(dt []byte) (skip int, check string) {
	dt = bytes.TrimPrefix(dt, []byte("\xef\xbb\xbf"))
	var dp parser.DirectiveParser
	ds, err := dp.ParseAll(dt)
	if err != nil {
		c.errorf(len(ds)+1, nil, "%v", err)
	}
	for _, d := range ds {
		line := startLine(d.Location)
		skip = max(skip, line)
		switch d.Name {
		case "syntax":
			c.syntax(d.Value, line)
		case "check":
			check = d.Value
		}
	}
	return skip, check
}

// syntax accepts a # syntax= line that names a Dockerfile frontend
// (docker/dockerfile, docker/dockerfile-upstream, or a build of it under
// another name that starts with "dockerfile"), and refuses any other.
func (c *converter) syntax(value string, line int) {
	ref, _, _ := strings.Cut(strings.TrimSpace(value), " ")
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		c.errorf(line, gapSyntax, "# syntax=%s is not an image reference", value)
		return
	}
	p := reference.Path(named)
	base := p[strings.LastIndex(p, "/")+1:]
	switch {
	case base == "dockerfile" || strings.HasPrefix(base, "dockerfile-"):
	case base == "ohlcv-build":
		c.errorf(line, nil, "# syntax=%s names this frontend: the file is a spec already", value)
	default:
		c.errorf(line, gapSyntax, "# syntax=%s", value)
	}
}

// spans returns the lines of each instruction of the parsed file.
func spans(ast *parser.Node) []span {
	out := make([]span, len(ast.Children))
	for i, n := range ast.Children {
		out[i] = span{start: n.StartLine, end: n.EndLine, heredoc: len(n.Heredocs) > 0}
	}
	return out
}

// startLine is the first line of an instruction's location.
func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}
