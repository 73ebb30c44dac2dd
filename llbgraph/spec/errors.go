package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/suggest"
)

// Error is a problem at one place of a spec file. Every error [Load],
// [Validate] and the compiler return about the user's input is an *Error,
// or several joined with [errors.Join]; [Errors] takes them apart again.
type Error struct {
	// Filename is the spec file's name.
	Filename string
	// Path is the YAML path of the node at fault, such as
	// stages.runtime.steps[2].mounts[0].sharing; empty for the document.
	Path string
	// Range is where the node sits; zero when it is not known (a spec
	// built in Go).
	Range Range
	// Msg says what is wrong, and how to fix it when that is known.
	Msg string
	// Err is an underlying error, if any.
	Err error
}

// Errorf returns an [Error] about the node at path and r in file filename.
func Errorf(filename, path string, r Range, format string, args ...any) *Error {
	return &Error{Filename: filename, Path: path, Range: r, Msg: fmt.Sprintf(format, args...)}
}

// Error formats the error as file:line:col: path: message, on one line:
// every character that could forge a second line or rewrite a terminal is
// escaped (see [Escape]), wherever it came from.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(Escape(e.Filename))
	if e.Range.Start.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Range.Start.Line, e.Range.Start.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(Escape(e.Path))
		b.WriteString(": ")
	}
	b.WriteString(Escape(e.Msg))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(Escape(e.Err.Error()))
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errors returns every *Error in err, looking through wrapping and
// [errors.Join], in order.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// maxErrors bounds how many problems one Load reports.
const maxErrors = 50

// errorList collects problems and joins them, capped so that a hostile
// spec cannot make the error itself huge, nor the work of formatting it.
type errorList struct {
	filename string
	errs     []*Error
	dropped  int
	// skip holds the paths whose values failed to decode, so that
	// validation does not report them again (as missing, say).
	skip map[string]bool
}

// full reports whether more problems would only be counted. Callers check
// it before formatting a message, so a spec with a million mistakes costs
// fifty messages.
func (l *errorList) full() bool { return len(l.errs) >= maxErrors }

func (l *errorList) add(e *Error) {
	if l.skip[e.Path] {
		return
	}
	if l.full() {
		l.dropped++
		return
	}
	l.errs = append(l.errs, e)
}

// at adds a problem at path and r, unless the list is full.
func (l *errorList) at(path string, r Range, format string, args ...any) {
	if l.full() {
		l.dropped++
		return
	}
	l.add(Errorf(l.filename, path, r, format, args...))
}

// err joins the problems in file order.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return comparePos(a.Range.Start, b.Range.Start)
	})
	errs := make([]error, 0, len(l.errs)+1)
	for _, e := range l.errs {
		errs = append(errs, e)
	}
	if l.dropped > 0 {
		errs = append(errs, &Error{Filename: l.filename, Msg: "and " + Count(l.dropped, "more problem") + ": fix these first"})
	}
	return errors.Join(errs...)
}

func comparePos(a, b Pos) int {
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Column - b.Column
}

// maxSuggestLen bounds the length of a value that gets a "did you mean":
// a typo is short, and the distance search costs its length times each
// option's.
const maxSuggestLen = 64

// DidYouMean returns ` (did you mean "x"?)` when val is a short typo of
// one of options, or "". It compares val only with options of about its
// length, so a long value or many long options cost nothing.
func DidYouMean(val string, options []string) string {
	if len(val) == 0 || len(val) > maxSuggestLen {
		return ""
	}
	near := make([]string, 0, 8)
	for _, o := range options {
		if d := len(o) - len(val); d >= -2 && d <= 2 {
			near = append(near, o)
		}
	}
	if m, ok := suggest.Search(val, near, true); ok {
		return " (did you mean " + Quote(m) + "?)"
	}
	return ""
}

// maxListed bounds how many names a message lists.
const maxListed = 12

// NameList formats names as `a, b, c`, listing at most a dozen, each
// shortened, and saying how many more there are.
func NameList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == maxListed {
			fmt.Fprintf(&b, " and %d more", len(names)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Shorten(n))
	}
	return b.String()
}

// oneOf formats a short closed vocabulary as `a, b or c`.
func oneOf[T ~string](options []T) string {
	s := make([]string, len(options))
	for i, o := range options {
		s[i] = string(o)
	}
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
