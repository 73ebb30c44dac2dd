package spec

import (
	"regexp"
	"strings"
)

// Script returns the text the shell sees of a shell-form command, and ""
// for an exec-form one, which no shell reads: the text in which a run's
// $NAME reads an arg.
func (c *Command) Script() string {
	if c == nil || c.IsExec {
		return ""
	}
	return c.Shell
}

// scriptNameRe finds $NAME and ${NAME in a script.
var scriptNameRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// ScriptNames returns the names a script mentions as $NAME or ${NAME...},
// in order, repeats included. A run gets as environment exactly the args
// its script mentions; the compiler and the checks read scripts with this.
func ScriptNames(script string) []string {
	if !strings.Contains(script, "$") {
		return nil
	}
	var names []string
	for _, m := range scriptNameRe.FindAllStringSubmatch(script, -1) {
		names = append(names, m[1])
	}
	return names
}

// IsRootUser reports whether a user (name or uid, with an optional
// :group) is root; an empty one is too, as an image without USER runs as
// root.
func IsRootUser(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
}
