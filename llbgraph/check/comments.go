package check

import (
	"regexp"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// shellLikeRe matches text that reads as shell rather than prose: a
// variable ($NAME, ${NAME}), a command substitution, or && and ||.
var shellLikeRe = regexp.MustCompile("\\$[A-Za-z_{(]|&&|\\|\\||`")

// commentInCommand finds a plain command whose line ends in a YAML comment
// that reads as shell: `go: test ./... # $BUST` runs `go test ./...`, and
// the $BUST the comment names (to make the step depend on the arg) never
// reaches it, so the step stays cached. A comment in prose is left alone.
func commentInCommand(r *run) {
	r.runLikes(func(ev *llbgraph.RunStep) {
		s := ev.Spec
		key, c := commandOf(s)
		if c == nil || c.IsExec || !shellLikeRe.MatchString(c.Comment) {
			return
		}
		r.report(s.StepNode(), key, c.Range, "the text after \" #\" is a YAML comment, not part of the command: the step runs %s without %s; to keep it, quote the whole command (%s: %s), or move the comment to a line of its own",
			spec.Quote(c.Shell), spec.Quote(c.Comment), key, spec.QuoteYAML(spec.Shorten(c.Shell+" "+c.Comment)))
	})
}
