package convert

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// comments are a Dockerfile's comment lines, placed as the spec's: the
// block that opens the file (ended by a blank line) heads the spec, every
// other block goes above the instruction it stands above, a comment inside
// an instruction's continuation lines joins that instruction's, and the
// ones after the last instruction end the spec. The parser's own
// PrevComment drops blocks broken by a bare "#", the comments in
// continuation lines and the last ones, so the lines are read here, with
// the instructions' ranges from the parser.
type comments struct {
	head  []string
	above map[int][]string // by the instruction's first line
	foot  []string
	// carry holds the comments of instructions that became no node of
	// their own (an ARG declared before), for the next node.
	carry []string
}

// span is the lines of one instruction, and whether they hold heredocs
// (whose lines are content, never comments).
type span struct {
	start, end int
	heredoc    bool
}

// collectComments reads the comment lines of src, whose first skip lines
// are parser directives, around the instructions at spans (in order).
func collectComments(src []byte, skip int, spans []span) *comments {
	c := &comments{above: map[int][]string{}}
	lines := strings.Split(string(src), "\n")
	var pending []string
	next := 0
	for i, l := range lines {
		n := i + 1
		text := strings.TrimSpace(strings.TrimSuffix(l, "\r"))
		if n <= skip {
			continue
		}
		for next < len(spans) && spans[next].end < n {
			next++
		}
		if next < len(spans) && spans[next].start <= n {
			sp := spans[next]
			if n == sp.start {
				if next == 0 {
					c.head, pending = splitHead(pending)
				}
				c.above[sp.start] = trimBlank(pending)
				pending = nil
			} else if !sp.heredoc && strings.HasPrefix(text, "#") {
				c.above[sp.start] = append(c.above[sp.start], commentText(text))
			}
			continue
		}
		switch {
		case strings.HasPrefix(text, "#"):
			pending = append(pending, commentText(text))
		case text == "" && len(pending) > 0 && pending[len(pending)-1] != "":
			pending = append(pending, "")
		}
	}
	c.foot = trimBlank(pending)
	if len(spans) == 0 {
		c.head, c.foot = c.foot, nil
	}
	return c
}

// splitHead splits the comments before the first instruction at their
// last blank line: the part before opens the spec, the rest stands above
// the instruction.
func splitHead(pending []string) (head, rest []string) {
	for i := len(pending) - 1; i >= 0; i-- {
		if pending[i] == "" {
			return trimBlank(pending[:i]), pending[i+1:]
		}
	}
	return nil, pending
}

func trimBlank(ls []string) []string {
	for len(ls) > 0 && ls[0] == "" {
		ls = ls[1:]
	}
	for len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// commentText is a comment line as YAML may hold it: control characters
// (which a spec may not contain) and invalid UTF-8 are escaped.
func commentText(line string) string { return spec.Escape(line) }

// textLen is the bytes of comment lines.
func textLen(ls []string) int {
	n := 0
	for _, l := range ls {
		n += len(l) + 1
	}
	return n
}

// take returns the comments above the instruction starting at line, once.
func (c *comments) take(line int) []string {
	ls := c.above[line]
	delete(c.above, line)
	return ls
}

// addHead adds comment lines above node's own.
func addHead(n *yaml.Node, ls []string) {
	if len(ls) == 0 {
		return
	}
	text := strings.Join(ls, "\n")
	if n.HeadComment != "" {
		text = n.HeadComment + "\n" + text
	}
	n.HeadComment = text
}
