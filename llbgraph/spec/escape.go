package spec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxQuoted bounds how much of a user's value a message quotes: a 200 KB
// value named in an error must not make a 200 KB error.
const maxQuoted = 80

// Escape returns s with every character that could forge output escaped:
// C0 and C1 controls (\n, \r, \t, ESC, NUL, ...), DEL, the line and
// paragraph separators U+2028 and U+2029, and the bidirectional overrides
// and isolates (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C). A
// key or stage name holding "\n" then cannot print a second, forged error
// line, and ESC or "\r" cannot rewrite a terminal's progress display. Text
// without such characters is returned as is; escaping twice changes
// nothing more than escaping once.
func Escape(s string) string {
	i := strings.IndexFunc(s, unsafeRune)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if !unsafeRune(r) {
			b.WriteRune(r)
			continue
		}
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	return b.String()
}

// unsafeRune reports whether r must be escaped in output a person reads.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi embeddings, overrides, isolates and marks
	case r == utf8.RuneError:
		return true
	}
	return false
}

// Quote returns s as a Go-quoted string for a message, shortened to about
// 80 characters: control characters, separators and bidi overrides come
// out as escapes (strconv.Quote escapes every non-printable rune), and a
// long value ends in "..." with its length.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// Shorten returns s cut to about 80 characters, ending in "..." when cut,
// and escaped, for names that are not quoted (YAML paths, vertex names).
func Shorten(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return Escape(s)
}
