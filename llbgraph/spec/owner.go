package spec

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Owner is a user and an optional group, user[:group], by name or number:
// a stage's or step's user, and a copy's chown.
type Owner struct {
	// Raw is the text as written.
	Raw string
	// User is the user's name or number.
	User string
	// Group is the group's name or number; empty for the user's own.
	Group string
	// Range is where the value is.
	Range Range
}

// IsSet reports whether an owner is given.
func (o *Owner) IsSet() bool { return o.Raw != "" || o.User != "" }

// IsTemplate reports whether the value must be expanded, then parsed.
func (o *Owner) IsTemplate() bool { return NeedsExpansion(o.Raw) }

// String returns user[:group].
func (o *Owner) String() string {
	if o.Raw != "" && !o.IsTemplate() {
		return o.Raw
	}
	if o.Group != "" {
		return o.User + ":" + o.Group
	}
	return o.User
}

// ByName reports whether the user or the group is a name rather than a
// number, which must be looked up in the image's /etc/passwd.
func (o *Owner) ByName() bool {
	return (o.User != "" && !isDigits(o.User)) || (o.Group != "" && !isDigits(o.Group))
}

var ownerPartRe = regexp.MustCompile(`^` + OwnerPartPattern + `$`)

// ParseOwner parses user[:group]. Each part is a number or a name of
// letters, digits, '_', '.' and '-'.
func ParseOwner(s string) (Owner, error) {
	o, err := parseOwner(s)
	if err == nil && strings.HasSuffix(s, ":") {
		err = fmt.Errorf("invalid user %s: the group after ':' is empty", Quote(s))
	}
	return o, err
}

// parseOwner parses user[:group] or user:, whose group is the user's own.
func parseOwner(s string) (Owner, error) {
	user, group, hasGroup := strings.Cut(s, ":")
	o := Owner{Raw: s, User: user, Group: group}
	switch {
	case s == "":
		return o, fmt.Errorf("want user[:group], got an empty value")
	case hasGroup && strings.Contains(group, ":"):
		return o, fmt.Errorf("invalid user %s: want user[:group], with one ':' at most", Quote(s))
	}
	return o, o.check()
}

func (o *Owner) check() error {
	if o.IsTemplate() {
		return nil
	}
	if !ownerPartRe.MatchString(o.User) {
		return fmt.Errorf("invalid user %s: want a name or a number before any ':'", Quote(o.User))
	}
	if o.Group != "" && !ownerPartRe.MatchString(o.Group) {
		return fmt.Errorf("invalid group %s: want a name or a number", Quote(o.Group))
	}
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ValueSchema returns user[:group], or a template.
func (Owner) ValueSchema() *ValueSchema {
	s := scalarSchema()
	s.Pattern = `^(?:` + OwnerPartPattern + `(?::` + OwnerPartPattern + `)?|` + templatePattern + `)$`
	return s
}

func (o *Owner) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*o, err = ownerAt(text, r, ParseOwner)
		return err
	})
}

// ownerAt parses the owner written as text at r with parse, or keeps it
// as written when it is a template.
func ownerAt(text string, r Range, parse func(string) (Owner, error)) (o Owner, err error) {
	o = Owner{Raw: text}
	if !NeedsExpansion(text) {
		o, err = parse(text)
	}
	o.Range = r
	return o, err
}

// Chown is a copy's owner: user[:group] as an [Owner] is, and also user:
// with nothing after the colon, as COPY --chown=user: takes it. Both
// BuildKit's llb.WithUser and its file op read an empty group as none, so
// the files get the user's primary group from the image's /etc/passwd (or
// the group of the same number, for a numeric user), as with no colon.
type Chown struct {
	Owner
}

// ParseChown parses user[:group] or user:.
func ParseChown(s string) (Chown, error) {
	o, err := parseOwner(s)
	return Chown{o}, err
}

// ValueSchema returns user[:group] or user:, or a template.
func (Chown) ValueSchema() *ValueSchema {
	s := scalarSchema()
	s.Pattern = `^(?:` + OwnerPartPattern + `(?::(?:` + OwnerPartPattern + `)?)?|` + templatePattern + `)$`
	return s
}

func (c *Chown) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		c.Owner, err = ownerAt(text, r, parseOwner)
		return err
	})
}
