package spec

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
	// Comment is the YAML comment (# ...) on the line of a plain, unquoted
	// string command: text that reads as part of the command but is not,
	// which the CommentInCommand check points out.
	Comment string
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

// ValueSchema returns the definition Command: a scalar or a list of
// scalars.
func (Command) ValueSchema() *ValueSchema {
	return &ValueSchema{
		Name:        "Command",
		Description: "A string runs with the shell (/bin/sh -c, or the image's SHELL); a list runs as it is.",
		OneOf:       []*ValueSchema{scalarSchema(), {Types: []string{"array"}, Items: scalarSchema()}},
	}
}

func (c *Command) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	c.Range = nodeRange(n)
	if n.Kind == yaml.SequenceNode {
		c.IsExec = true
		c.Exec = make([]string, 0, len(n.Content))
		for i, e := range n.Content {
			el := l.at(i)
			if e = d.visit(el, e); e == nil {
				return
			}
			if s, ok := d.scalar(el, e, "a string"); ok {
				c.Exec = append(c.Exec, s)
			}
		}
		return
	}
	if s, ok := d.scalar(l, n, "a command (a string or a list of strings)"); ok {
		c.Shell = s
		if n.Style == 0 {
			c.Comment = n.LineComment
		}
	}
}

// HealthTest is a health check's test in the image config's form: [CMD,
// arg...], [CMD-SHELL, script] or [NONE]. A string test is written as
// [CMD-SHELL, string].
type HealthTest struct {
	// Args is the test.
	Args []string
	// Range is where the test is.
	Range Range
}

// ValueSchema returns a string that is not empty, or a list that starts
// with CMD, CMD-SHELL or NONE.
func (HealthTest) ValueSchema() *ValueSchema {
	text := scalarSchema()
	text.MinLength = 1
	return &ValueSchema{OneOf: []*ValueSchema{
		text,
		{
			Types:       []string{"array"},
			MinItems:    1,
			PrefixItems: []*ValueSchema{{Enum: []string{"CMD", "CMD-SHELL", "NONE"}}},
			Items:       scalarSchema(),
		},
	}}
}

func (t *HealthTest) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	var c Command
	c.decodeYAML(d, l, n, depth)
	args, err := ParseHealthTest(&c)
	if err != nil {
		d.errorf(l, n, "%v", err)
		return
	}
	*t = HealthTest{Args: args, Range: nodeRange(n)}
}

// ParseHealthTest turns a healthcheck's test into the image config's form.
func ParseHealthTest(c *Command) ([]string, error) {
	if !c.IsExec {
		if strings.TrimSpace(c.Shell) == "" {
			return nil, fmt.Errorf("test must not be empty")
		}
		return []string{"CMD-SHELL", c.Shell}, nil
	}
	return c.Exec, checkHealthTest(c.Exec)
}

func checkHealthTest(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("a healthcheck needs test: [CMD, arg...], [CMD-SHELL, script], [NONE], or a string")
	}
	switch args[0] {
	case "CMD":
		if len(args) < 2 {
			return fmt.Errorf("[CMD] needs a command after it")
		}
	case "CMD-SHELL":
		if len(args) != 2 {
			return fmt.Errorf("[CMD-SHELL] takes exactly one script after it")
		}
	case "NONE":
		if len(args) != 1 {
			return fmt.Errorf("[NONE] takes nothing after it")
		}
	default:
		return fmt.Errorf("test starts with %s: want CMD, CMD-SHELL or NONE first, as in [CMD, python, -c, ...]", Quote(args[0]))
	}
	return nil
}

// ShellArgs is the shell that string commands run with, as SHELL takes it:
// a list, the script appended as its last argument, as in [/bin/bash, -eo,
// pipefail, -c]. Its items are not interpolated, as SHELL's are not.
type ShellArgs struct {
	// Args are the shell and its arguments.
	Args []string
	// Range is where the list is.
	Range Range
}

// ValueSchema returns a list of at least one string, the first not empty.
func (ShellArgs) ValueSchema() *ValueSchema {
	first := scalarSchema()
	first.MinLength = 1
	return &ValueSchema{Types: []string{"array"}, MinItems: 1, PrefixItems: []*ValueSchema{first}, Items: scalarSchema()}
}

func (s *ShellArgs) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(l, n, "want a list, the shell and its arguments, as in [/bin/bash, -c], got %s", describe(n))
		return
	}
	var c Command
	c.decodeYAML(d, l, n, depth)
	if len(c.Exec) == 0 || strings.TrimSpace(c.Exec[0]) == "" {
		d.errorf(l, n, "shell needs a program first, as in [/bin/bash, -c]")
		return
	}
	*s = ShellArgs{Args: c.Exec, Range: nodeRange(n)}
}

// String returns the list as SHELL's history line writes it: [a b c].
func (s *ShellArgs) String() string { return fmt.Sprintf("%v", s.Args) }
