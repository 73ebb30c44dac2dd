package spec

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "finding", "0 findings"},
		{1, "finding", "1 finding"},
		{2, "finding", "2 findings"},
		{1, "more problem", "1 more problem"},
		{51, "more problem", "51 more problems"},
		{1, "branch", "1 branch"},
		{3, "branch", "3 branches"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
