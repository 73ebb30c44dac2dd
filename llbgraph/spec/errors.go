package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/suggest"
)

// Error is a problem at one place of a spec file. Every error [Load] and the
// compiler return about the user's input is an *Error, or several joined
// with [errors.Join]; [Errors] takes them apart again.
type Error struct {
	// Filename is the spec file's name.
	Filename string
	// Path is the YAML path of the node at fault, such as
	// stages.runtime.steps[2].mounts[0].sharing; empty for the document.
	Path string
	// Range is where the node sits.
	Range Range
	// Msg says what is wrong, and how to fix it when that is known.
	Msg string
	// Err is an underlying error, if any.
	Err error
}

func newError(filename, path string, r Range, format string, args ...any) *Error {
	return &Error{Filename: filename, Path: path, Range: r, Msg: fmt.Sprintf(format, args...)}
}

// Error formats the error as file:line:col: path: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Filename)
	if e.Range.Start.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Range.Start.Line, e.Range.Start.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
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

// errorList collects problems and joins them, capped so that a hostile spec
// cannot make the error itself huge.
type errorList struct {
	errs    []error
	dropped int
}

// maxErrors bounds how many problems one Load reports.
const maxErrors = 50

func (l *errorList) add(err error) {
	if err == nil {
		return
	}
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, err)
}

func (l *errorList) full() bool { return len(l.errs) >= maxErrors }

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	slices.SortStableFunc(errs, func(a, b error) int {
		return comparePos(errPos(a), errPos(b))
	})
	if l.dropped > 0 {
		errs = append(errs[:len(errs):len(errs)], fmt.Errorf("and more problems: fix these first"))
	}
	return errors.Join(errs...)
}

func errPos(err error) Pos {
	if e, ok := err.(*Error); ok {
		return e.Range.Start
	}
	return Pos{}
}

func comparePos(a, b Pos) int {
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Column - b.Column
}

// didYouMean returns ` (did you mean "x"?)` when val is close to one of
// options, or "".
func didYouMean(val string, options []string) string {
	if m, ok := suggest.Search(val, options, true); ok {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	return ""
}

// oneOf formats options as `a, b or c`.
func oneOf(options []string) string {
	switch len(options) {
	case 0:
		return ""
	case 1:
		return options[0]
	}
	return strings.Join(options[:len(options)-1], ", ") + " or " + options[len(options)-1]
}
