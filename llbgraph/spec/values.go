package spec

import "strings"

// Pos is a 1-based line and column in the spec file.
type Pos struct {
	// Line is the line, from 1.
	Line int
	// Column is the column, from 1.
	Column int
}

// Range is the span of a YAML node, from its first character to its last
// line.
type Range struct {
	// Start is the node's first character.
	Start Pos
	// End is on the node's last line.
	End Pos
}

// Node records where a YAML mapping sits in the file, its path in the
// document (stages.runtime.steps[2]) and where each of its keys' values is.
// The decoder fills it; the compiler uses it to point errors and LLB source
// locations at the user's lines.
type Node struct {
	// Path is the node's YAML path, such as stages.runtime.steps[2].
	Path string
	// Range is the span of the whole mapping.
	Range Range

	fields  map[string]Range
	bad     map[string]bool // keys whose values failed to decode
	invalid bool            // the node is not a mapping at all
}

// Has reports whether the mapping set key.
func (n Node) Has(key string) bool {
	_, ok := n.fields[key]
	return ok
}

// Field returns the span of key's value, or the mapping's span when the key
// is not set, so that an error about a missing key points at its mapping.
func (n Node) Field(key string) Range {
	if r, ok := n.fields[key]; ok {
		return r
	}
	return n.Range
}

// FieldPath returns the YAML path of key under the node.
func (n Node) FieldPath(key string) string {
	if n.Path == "" {
		return key
	}
	return n.Path + "." + key
}

// Errorf returns an [Error] about key of this mapping in file filename.
func (n Node) Errorf(filename, key, format string, args ...any) *Error {
	return newError(filename, n.FieldPath(key), n.Field(key), format, args...)
}

// Keys returns the keys the mapping set, in no particular order.
func (n Node) Keys() []string {
	keys := make([]string, 0, len(n.fields))
	for k := range n.fields {
		keys = append(keys, k)
	}
	return keys
}

// Var is one NAME: value entry of an ordered mapping (args, env, labels).
type Var struct {
	// Name is the key.
	Name string
	// Value is the scalar value as written; null is the empty string.
	Value string
	// Range is where the value sits.
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

// Stages is the ordered `stages:` mapping.
type Stages []*Stage

// Get returns the stage called name, or nil.
func (s Stages) Get(name string) *Stage {
	for _, st := range s {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// Names returns the stage names in file order.
func (s Stages) Names() []string {
	names := make([]string, len(s))
	for i, st := range s {
		names[i] = st.Name
	}
	return names
}

// Command is a command line written as a string (shell form) or as a list
// (exec form).
type Command struct {
	// Shell is the string form; it runs with /bin/sh -c.
	Shell string
	// Exec is the list form; it runs as-is.
	Exec []string
	// IsExec reports that the list form was used, even an empty list.
	IsExec bool
	// Range is where the command sits.
	Range Range
}

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

// Args returns the command as arguments: the list form as written, or the
// string form split on whitespace (for presets, whose arguments are passed
// to a known tool).
func (c *Command) Args() []string {
	if c == nil {
		return nil
	}
	if c.IsExec {
		return c.Exec
	}
	return strings.Fields(c.Shell)
}
