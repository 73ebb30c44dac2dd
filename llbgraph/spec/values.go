package spec

import (
	"strings"
)

// String is a text value of the spec and where it is written. The empty
// String is "not set": a key written with an empty value is refused where
// emptiness means nothing. Most strings may hold ${NAME} references, which
// the compiler expands.
type String struct {
	// Value is the text as written.
	Value string
	// Range is where the value is.
	Range Range
}

// Str returns a String with value v, for specs built in Go.
func Str(v string) String { return String{Value: v} }

// Strs returns Strings with values v, for specs built in Go.
func Strs(v ...string) []String {
	out := make([]String, len(v))
	for i, s := range v {
		out[i] = String{Value: s}
	}
	return out
}

// Values returns the texts of a list of Strings.
func Values(list []String) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.Value
	}
	return out
}

// Bool is a true or false value; false is also "not set".
type Bool struct {
	// Value is the value.
	Value bool
	// Range is where the value is.
	Range Range
}

// Int is a whole number. Fields of this type are pointers; nil is "not
// set".
type Int struct {
	// Value is the number.
	Value int
	// Range is where the value is.
	Range Range
}

// Var is one NAME: value entry of an ordered mapping (args, env, labels).
type Var struct {
	// Name is the key.
	Name string
	// NameRange is where the key is.
	NameRange Range
	// Value is the scalar value as written; null is the empty string.
	Value string
	// Range is where the value is.
	Range Range
}

// Vars is an ordered string-to-string mapping: YAML order is kept, so the
// LLB built from it does not depend on map iteration.
type Vars []Var

// Get returns the value of name and whether it is set.
func (v Vars) Get(name string) (string, bool) {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i].Name == name {
			return v[i].Value, true
		}
	}
	return "", false
}

// Names returns the names in order.
func (v Vars) Names() []string {
	names := make([]string, len(v))
	for i, e := range v {
		names[i] = e.Name
	}
	return names
}

// Command is a command line written as a string (shell form) or as a list
// (exec form).
type Command struct {
	// Shell is the string form; it runs with the image's shell, /bin/sh -c
	// by default.
	Shell string
	// Exec is the list form; it runs as-is.
	Exec []string
	// IsExec reports that the list form was used, even an empty list.
	IsExec bool
	// Range is where the command is.
	Range Range
}

// Shell returns a shell-form Command, for specs built in Go.
func Shell(script string) *Command { return &Command{Shell: script} }

// Exec returns an exec-form Command, for specs built in Go.
func Exec(args ...string) *Command { return &Command{Exec: args, IsExec: true} }

// String returns the command as one line for progress names and history.
func (c *Command) String() string {
	if c == nil {
		return ""
	}
	if c.IsExec {
		return strings.Join(c.Exec, " ")
	}
	return c.Shell
}

// empty reports whether the command runs nothing.
func (c *Command) empty() bool {
	return c == nil || strings.TrimSpace(c.String()) == ""
}

// NeedsExpansion reports whether a value holds ${NAME} references or
// escapes, which the compiler expands before it parses the value.
func NeedsExpansion(s string) bool {
	return strings.ContainsAny(s, `$\`)
}
