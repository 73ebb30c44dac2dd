package convert

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// maxMemory is the most one conversion may allocate.
const maxMemory = 256 << 20

// hostile returns Dockerfiles of at most MaxSize bytes and maxLines lines
// of instructions that try to make the converter slow or large: many ARGs
// in scope of many RUNs, long chains of stages inheriting them, megabyte
// words through continuation lines, deep ${...} nesting, thousands of
// comments, labels, mounts and stages, and long heredocs.
func hostile() map[string]string {
	// fill writes head, then lines made by line(i), each padded to the
	// length that fills MaxSize with maxLines-10 of them.
	per := MaxSize / (maxLines - 10)
	fill := func(head string, line func(i int) string) string {
		var b strings.Builder
		b.WriteString(head)
		_, words := contentSize([]byte(head))
		for i := 0; ; i++ {
			l := line(i)
			if n := per - len(l) - 1; n > 0 && !strings.HasSuffix(l, "\\") {
				l += strings.Repeat(" ", n)
			}
			words += countFields([]byte(l))
			if b.Len()+len(l)+1 > MaxSize-8 || i >= maxLines-20 || words > maxWords-20 {
				return b.String()
			}
			b.WriteString(l + "\n")
		}
	}
	manyArgs := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i%4000 == 0 {
				b.WriteString("\nARG")
			}
			fmt.Fprintf(&b, " A%d=%d", i, i)
		}
		return b.String() + "\n"
	}
	// cont is a continuation line of word repeated, per bytes long.
	cont := func(word string) func(int) string {
		return func(int) string { return strings.Repeat(word, per/len(word)+1)[:per-2] + "\\" }
	}
	return map[string]string{
		"args-in-scope-of-runs":    fill("FROM scratch\n"+manyArgs(5000), func(int) string { return "RUN x" }),
		"args-through-stage-chain": fill("FROM scratch AS s0\n"+manyArgs(10000), func(i int) string { return fmt.Sprintf("FROM s%d AS s%d", i, i+1) }),
		"run-continuations":        fill("FROM scratch\nRUN x \\\n", cont("y ")) + "\n",
		"env-continuations":        fill("FROM scratch\nENV A=x \\\n", cont("B=$A ")) + "\n",
		"env-pairs":                fill("FROM scratch\n", func(i int) string { return fmt.Sprintf("ENV E%d=$HOME F%d=\"a b\" G%d='c'", i, i, i) }),
		"deep-expansion":           fill("FROM scratch\nENV A=x\\\n", cont("${A:-")) + "\n",
		"substitutions":            fill("FROM scratch\nENV A=x\\\n", cont("${A//?/b}")) + "\n",
		"substitutions-per-word": fill("FROM scratch\n", func(i int) string {
			return fmt.Sprintf("ENV A%d=", i) + strings.Repeat("${A//?/b}", maxExpansions)
		}),
		"quoted-words":        fill("FROM scratch\nENV A=x\\\n", cont(`"a$A\\"b" 'c$A' `)) + "\n",
		"comments":            fill("FROM scratch\n", func(int) string { return "# a comment line" }),
		"labels":              fill("FROM scratch\n", func(i int) string { return fmt.Sprintf("LABEL l%d=v m%d=$HOME", i, i) }),
		"ports-with-comments": fill("FROM scratch\n", func(int) string { return "# port\nEXPOSE 80 81 82 83 84 85 86" }),
		"stages":              fill("", func(int) string { return "FROM " + strings.Repeat("a", 150) }),
		"long-heredoc":        fill("FROM scratch\nRUN <<EOF\n", func(int) string { return "echo line" }) + "EOF\n",
		"many-errors":         fill("FROM scratch\n", func(int) string { return "MAINTAINER me" }),
		"copies-from-stages": fill("FROM scratch AS s0\n", func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf("FROM scratch AS s%d", i/2+1)
			}
			return fmt.Sprintf("COPY --from=s%d /a /a", i/2)
		}),
		"mounts": fill("FROM scratch\n", func(int) string {
			return "RUN --mount=type=cache,target=/c --mount=type=secret,id=s,env=S --mount=type=bind,from=x,target=/b x"
		}),
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHostileDockerfiles: each hostile Dockerfile converts or fails within
// 1 s of CPU time and 256 MB of allocations, without a panic. The race
// detector slows the code several times over, so it is given no time
// bound; the memory bound holds under it too.
func TestHostileDockerfiles(t *testing.T) {
	for name, df := range hostile() {
		t.Run(name, func(t *testing.T) {
			if len(df) > MaxSize || contentSizeOver(df) {
				t.Fatalf("the input is %d bytes and %d lines, more than %d and %d", len(df), contentLinesOf(df), MaxSize, maxLines)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu := cpuTime()
			_, err := Convert([]byte(df), Options{})
			used := cpuTime() - cpu
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > maxMemory {
				t.Errorf("allocated %d MiB, more than %d MiB", n>>20, maxMemory>>20)
			}
			if used > time.Second && !raceEnabled {
				t.Errorf("took %s of CPU, more than 1s", used)
			}
			t.Logf("%s: %s of CPU, %d MiB: %.120v", name, used, (after.TotalAlloc-before.TotalAlloc)>>20, err)
		})
	}
	if _, err := Convert(make([]byte, MaxSize+1), Options{}); err == nil || !strings.Contains(err.Error(), "more than the 1048576") {
		t.Errorf("a Dockerfile over the limit: %v", err)
	}
	if _, err := Convert([]byte(strings.Repeat("RUN x\n", maxLines+1)), Options{}); err == nil || !strings.Contains(err.Error(), "more than the 2000 lines and 20000 words") {
		t.Errorf("a Dockerfile over the line limit: %v", err)
	}
}

// FuzzConvert feeds arbitrary bytes to Convert. Nothing may panic or hang,
// a failure is an *Error naming the file, and a success is a spec that
// loads.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "Dockerfile"))
	files = append(files, "../examples/ohlcv-rag/Dockerfile")
	for _, p := range files {
		if dt, err := os.ReadFile(p); err == nil {
			f.Add(dt)
		}
	}
	for _, s := range []string{
		"FROM a\nARG X=${X:-${Y//a/b}}\nRUN echo $X\n",
		"ARG A=1\nFROM ${A}\nENV B=\"$A\" C='$A'\nCOPY --from=0 \"a b\" /\n",
		"# escape=`\nFROM a\nENV A=`$x\n",
		"FROM a AS b\nFROM b\nRUN --mount=type=bind,from=b,target=/x <<EOF\nx\nEOF\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("HANG on %q", data))
			}
		}()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := Convert(data, Options{Filename: "fuzz.Dockerfile"})
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > maxMemory {
			t.Fatalf("allocated %d MiB, more than %d MiB", n>>20, maxMemory>>20)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.Dockerfile") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		if _, err := spec.Load("fuzz.build.yaml", res.Spec); err != nil {
			t.Fatalf("the spec does not load: %v", err)
		}
	})
}

func contentSizeOver(df string) bool {
	lines, words := contentSize([]byte(df))
	return lines > maxLines || words > maxWords
}

func contentLinesOf(df string) int {
	lines, _ := contentSize([]byte(df))
	return lines
}
