package convert

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// A Dockerfile word (an ENV value, a COPY path, a FROM image) is expanded
// by BuildKit's shell lexer with quote processing: "a $X" and 'a $X' are
// quoted, a backslash escapes. A spec value is expanded by the same lexer
// with quotes left literal (YAML has already unquoted it). word rewrites
// the one into the other, and then proves the rewrite with the lexer
// itself: both are expanded under several environments and must agree.

// word is a Dockerfile word as the spec says it.
type word struct {
	// text is the spec's text for the word.
	text string
	// names are the variables the word reads, sorted.
	names []string
}

// errQuoting is returned for a word whose quoting has no spec form.
var errQuoting = errors.New("its quoting has no equivalent in the spec")

// maxExpansions bounds the $ of one word: each is expanded under every
// probe, so each counts expansionWork towards the conversion's bound, and
// a ${NAME/...}, ${NAME#...} or ${NAME%...}, which compiles a pattern each
// time, patternWork.
const (
	maxExpansions = 64
	expansionWork = 256
	patternWork   = 8192
)

// patternRe finds the expansions that compile a pattern.
var patternRe = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*[/#%]`)

// expansionCost is the work of converting word raw beyond its length.
func expansionCost(raw string) int {
	n := strings.Count(raw, "$")
	if n == 0 {
		return 0
	}
	return n*expansionWork + len(patternRe.FindAllStringIndex(raw, maxExpansions+1))*patternWork
}

// errExpansions is returned for a word with more than maxExpansions.
var errExpansions = fmt.Errorf("the word has more than %d $ in it, more than a conversion expands", maxExpansions)

// lexers are the two lexers a word is expanded by: a Dockerfile's, with
// its escape token, and the spec's. A conversion makes them once (a lexer
// allocates its tables) and uses them from one goroutine (a lexer keeps
// state).
type lexers struct {
	escape rune
	df, sp *shell.Lex
}

func newLexers(escape rune) *lexers {
	sp := shell.NewLex('\\')
	sp.SkipProcessQuotes = true
	return &lexers{escape: escape, df: shell.NewLex(escape), sp: sp}
}

// specWord rewrites a Dockerfile word into the spec text that expands the
// same way.
func (l *lexers) specWord(raw string) (word, error) {
	if !strings.ContainsAny(raw, "$'\"\\`<") {
		return word{text: raw}, nil // nothing either lexer treats specially
	}
	if strings.Count(raw, "$") > maxExpansions {
		return word{}, errExpansions
	}
	text, ok := unquote(raw, l.escape)
	if !ok {
		return word{}, errQuoting
	}
	names, err := l.sameExpansion(raw, text)
	if err != nil {
		return word{}, err
	}
	return word{text: text, names: names}, nil
}

// literalWord is the spec text for s taken literally: what a Dockerfile
// does not expand (COPY --exclude, --from) must not be expanded by the
// spec either.
func literalWord(s string) string {
	if !strings.ContainsAny(s, `\$`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `$`, `\$`).Replace(s)
}

// unquote removes the Dockerfile quoting of raw: single-quoted text
// becomes literal (its \ and $ escaped), double-quoted text keeps its
// expansions and loses the escapes only double quotes honour. ${...} is
// copied as written; quotes inside it, and a substitution nested in
// another, are refused (ok is false): the first has no spec form, the
// second could multiply the text the probes expand to.
func unquote(raw string, escape rune) (string, bool) {
	var b strings.Builder
	rs := []rune(raw)
	quote := rune(0)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				writeLiteral(&b, c)
			}
		case c == '$':
			end, ok := dollarEnd(rs, i, escape)
			if !ok {
				return "", false
			}
			b.WriteString(string(rs[i:end]))
			i = end - 1
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == escape && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '$' || rs[i+1] == escape):
				i++
				writeLiteral(&b, rs[i])
			default:
				writeLiteral(&b, c)
			}
		case c == '\'' || c == '"':
			quote = c
		case c == escape:
			if i+1 < len(rs) {
				i++
				writeLiteral(&b, rs[i])
			}
		default:
			writeLiteral(&b, c)
		}
	}
	return b.String(), quote == 0
}

// writeLiteral writes c so that the spec's lexer reads it as itself.
func writeLiteral(b *strings.Builder, c rune) {
	if c == '\\' || c == '$' {
		b.WriteByte('\\')
	}
	b.WriteRune(c)
}

// dollarEnd returns the index just past the expansion that starts with the
// $ at rs[i]: $NAME, ${...} with nested ${...}, or a lone $. Quotes inside
// ${...}, and a ${NAME/...} substitution with another expansion around or
// inside it, are refused.
func dollarEnd(rs []rune, i int, escape rune) (int, bool) {
	j := i + 1
	if j >= len(rs) || rs[j] != '{' {
		for j < len(rs) && isNameRune(rs[j]) {
			j++
		}
		return j, true
	}
	depth, opened, substitutes := 0, 0, false
	for ; j < len(rs); j++ {
		switch c := rs[j]; {
		case c == escape:
			j++
		case c == '\'' || c == '"':
			return 0, false
		case c == '{':
			depth++
			opened++
			k := j + 1
			for k < len(rs) && isNameRune(rs[k]) {
				k++
			}
			substitutes = substitutes || k < len(rs) && rs[k] == '/'
		case c == '}':
			depth--
			if depth == 0 {
				return j + 1, !substitutes || opened == 1
			}
		}
	}
	return 0, false
}

func isNameRune(c rune) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// probes are the values every variable of a word takes in turn when the
// two expansions are compared: unset, empty, and text holding what either
// lexer could treat specially.
var probes = []*string{nil, ptr(""), ptr(`v a'l"u\e$x`)}

func ptr(s string) *string { return &s }

// sameExpansion expands raw as a Dockerfile does and text as the spec does,
// under each probe, and returns the names the word reads. It fails unless
// every pair agrees.
func (l *lexers) sameExpansion(raw, text string) ([]string, error) {
	df, sp := l.df, l.sp
	seen := map[string]bool{}
	for _, p := range probes {
		g := &probeEnv{value: p, seen: seen}
		want, _, werr := df.ProcessWord(raw, g)
		got, _, gerr := sp.ProcessWord(text, g)
		if werr != nil {
			return nil, werr
		}
		if gerr != nil || got != want {
			return nil, errQuoting
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// probeEnv gives every variable the same value, and records the names the
// lexer asks for.
type probeEnv struct {
	value *string
	seen  map[string]bool
}

func (p *probeEnv) Get(key string) (string, bool) {
	p.seen[key] = true
	if p.value == nil {
		return "", false
	}
	return *p.value, true
}

func (p *probeEnv) Keys() []string { return nil }
