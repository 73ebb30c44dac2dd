package convert

import "testing"

// TestSpecWord: a Dockerfile word becomes the spec text that expands the
// same way (specWord proves each with the lexer), or an error.
func TestSpecWord(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		escape    rune
		names     []string
		bad       bool
	}{
		{raw: "plain", want: "plain"},
		{raw: "$A/b", want: "$A/b", names: []string{"A"}},
		{raw: `"a b"`, want: "a b"},
		{raw: `"say \"hi\" to $USER"`, want: `say "hi" to $USER`, names: []string{"USER"}},
		{raw: `'no $expansion \ here'`, want: `no \$expansion \\ here`},
		{raw: `a\ b`, want: "a b"},
		{raw: `"\$HOME"`, want: `\$HOME`},
		{raw: `"C:\path"`, want: `C:\\path`},
		{raw: `${A:-fallback}x`, want: `${A:-fallback}x`, names: []string{"A"}},
		{raw: `"${A:-a b}"`, want: `${A:-a b}`, names: []string{"A"}},
		{raw: "back`\"tick", escape: '`', want: `back"tick`},
		{raw: `C:\dir`, escape: '`', want: `C:\\dir`},
		{raw: `"${A:-"q"}"`, bad: true},
		{raw: `${A//x/${B//y/z}}`, bad: true},
		{raw: `"unterminated`, bad: true},
	} {
		escape := c.escape
		if escape == 0 {
			escape = '\\'
		}
		w, err := newLexers(escape).specWord(c.raw)
		if c.bad {
			if err == nil {
				t.Errorf("%s: converted to %q, want an error", c.raw, w.text)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if w.text != c.want || len(w.names) != len(c.names) || len(c.names) > 0 && w.names[0] != c.names[0] {
			t.Errorf("%s: got %q reading %v, want %q reading %v", c.raw, w.text, w.names, c.want, c.names)
		}
	}
}

// TestTarget: --target keeps the stages the target reaches, in order, and
// the target last, so it is the spec's default.
func TestTarget(t *testing.T) {
	df := "FROM busybox AS base\nFROM base AS builder\nRUN x\nFROM busybox AS other\nFROM debian AS production\nCOPY --from=builder /a /a\nFROM production AS last\n"
	res, err := Convert([]byte(df), Options{Target: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stages; len(got) != 3 || got[0] != "base" || got[1] != "builder" || got[2] != "production" {
		t.Errorf("stages %v, want [base builder production]", got)
	}
}
