//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"github.com/google/go-dap"
)

// dapWait bounds every wait for the debugger: a stop may wait for a base
// image, apt's downloads or a cold build on a busy machine.
const dapWait = 5 * time.Minute

// dapSession is one `docker buildx dap build`, driven over its stdin and
// stdout as an editor drives it: go-dap reads and writes the messages,
// requests wait for the response that names their seq, events queue in the
// order they came, and a runInTerminal request (what `evaluate exec` sends)
// runs its command in a pseudo-terminal, as an editor's terminal would.
type dapSession struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	spec  string // the spec's absolute path, as the debugger names it

	wmu       sync.Mutex // one message at a time on stdin
	mu        sync.Mutex
	seq       int
	pending   map[int]chan dap.ResponseMessage
	events    []dap.EventMessage
	read      int           // events up to here were consumed by a wait
	changed   chan struct{} // signalled on every new event and at EOF
	eof       error         // why reading stopped
	exit      *dap.ExitedEvent
	stderr    bytes.Buffer
	terminals chan *terminal
}

// dapLaunch is the launch request's arguments that buildx reads
// (commands.LaunchConfig in buildx v0.38.2).
type dapLaunch struct {
	Dockerfile  string `json:"dockerfile,omitempty"`
	ContextPath string `json:"contextPath,omitempty"`
	Target      string `json:"target,omitempty"`
	StopOnEntry bool   `json:"stopOnEntry,omitempty"`
}

// startDAP starts `buildx dap build` on the context dir with extra command
// line args, and goes through initialize, launch, setBreakpoints (lines
// alone, no column, as a click in an editor's gutter sets them) and
// configurationDone. It returns the session and the breakpoints as
// buildx answered them.
func startDAP(t *testing.T, dir string, launch dapLaunch, lines []int, args ...string) (*dapSession, []dap.Breakpoint) {
	t.Helper()
	s := &dapSession{t: t, pending: map[int]chan dap.ResponseMessage{}, changed: make(chan struct{}, 1), terminals: make(chan *terminal, 1)}
	s.spec = launch.Dockerfile
	s.cmd = buildxCommand(t, append(append([]string{"dap", "build"}, args...), dir)...)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	s.cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	go s.readLoop(bufio.NewReader(stdout))

	s.request(&dap.InitializeRequest{Request: s.newRequest("initialize"), Arguments: dap.InitializeRequestArguments{
		ClientID: "ohlcv-build-test", AdapterID: "dockerfile", LinesStartAt1: true, ColumnsStartAt1: true,
		PathFormat: "path", SupportsRunInTerminalRequest: true,
	}})
	raw, err := json.Marshal(launch)
	if err != nil {
		t.Fatal(err)
	}
	s.request(&dap.LaunchRequest{Request: s.newRequest("launch"), Arguments: raw})
	s.event("initialized")
	bps := make([]dap.SourceBreakpoint, len(lines))
	for i, l := range lines {
		bps[i] = dap.SourceBreakpoint{Line: l}
	}
	resp := s.request(&dap.SetBreakpointsRequest{Request: s.newRequest("setBreakpoints"), Arguments: dap.SetBreakpointsArguments{
		Source: dap.Source{Name: "ohlcv.build.yaml", Path: s.spec}, Breakpoints: bps,
	}}).(*dap.SetBreakpointsResponse)
	s.request(&dap.ConfigurationDoneRequest{Request: s.newRequest("configurationDone")})
	return s, resp.Body.Breakpoints
}

func (s *dapSession) newRequest(command string) dap.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return dap.Request{ProtocolMessage: dap.ProtocolMessage{Seq: s.seq, Type: "request"}, Command: command}
}

// readLoop reads the adapter's messages until its stdout closes.
func (s *dapSession) readLoop(r *bufio.Reader) {
	for {
		msg, err := dap.ReadProtocolMessage(r)
		if err != nil {
			s.mu.Lock()
			s.eof = err
			for seq, ch := range s.pending {
				close(ch)
				delete(s.pending, seq)
			}
			s.mu.Unlock()
			s.signal()
			return
		}
		switch m := msg.(type) {
		case dap.ResponseMessage:
			s.mu.Lock()
			ch := s.pending[m.GetResponse().RequestSeq]
			delete(s.pending, m.GetResponse().RequestSeq)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case dap.EventMessage:
			s.mu.Lock()
			s.events = append(s.events, m)
			if e, ok := m.(*dap.ExitedEvent); ok {
				s.exit = e
			}
			s.mu.Unlock()
			s.signal()
		case *dap.RunInTerminalRequest:
			go s.runInTerminal(m)
		}
	}
}

func (s *dapSession) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *dapSession) send(m dap.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := dap.WriteProtocolMessage(s.stdin, m); err != nil {
		s.t.Errorf("writing to the debugger: %v", err)
	}
}

// request sends a request and returns its response, failing the test on
// an error response.
func (s *dapSession) request(req dap.RequestMessage) dap.ResponseMessage {
	s.t.Helper()
	resp, err := s.requestErr(req)
	if err != nil {
		s.t.Fatalf("%v\n%s", err, s.transcript())
	}
	return resp
}

// requestErr sends a request and returns its response, or the error the
// debugger answered.
func (s *dapSession) requestErr(req dap.RequestMessage) (dap.ResponseMessage, error) {
	ch := make(chan dap.ResponseMessage, 1)
	s.mu.Lock()
	s.pending[req.GetSeq()] = ch
	s.mu.Unlock()
	s.send(req)
	command := req.GetRequest().Command
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: the debugger closed its output before answering", command)
		}
		if r := resp.GetResponse(); !r.Success {
			return resp, fmt.Errorf("%s: %s", command, r.Message)
		}
		return resp, nil
	case <-time.After(dapWait):
		return nil, fmt.Errorf("%s: no answer in %v", command, dapWait)
	}
}

// event waits for the next event named one of names, skipping others, and
// returns it. The test fails when the debugger ends first.
func (s *dapSession) event(names ...string) dap.EventMessage {
	s.t.Helper()
	deadline := time.After(dapWait)
	for {
		s.mu.Lock()
		for s.read < len(s.events) {
			e := s.events[s.read]
			s.read++
			for _, n := range names {
				if e.GetEvent().Event == n {
					s.mu.Unlock()
					return e
				}
			}
		}
		eof := s.eof
		s.mu.Unlock()
		if eof != nil {
			s.t.Fatalf("the debugger ended (%v) before sending %v\n%s", eof, names, s.transcript())
		}
		select {
		case <-s.changed:
		case <-deadline:
			s.t.Fatalf("no %v event in %v\n%s", names, dapWait, s.transcript())
		}
	}
}

// stop is where the debugger paused: its stopped event and its top frame.
type stop struct {
	reason         string
	hitBreakpoints []int
	thread         int
	frame          dap.StackFrame
}

// stopped waits for the build to pause and returns where. The test fails
// when the build ends instead.
func (s *dapSession) stopped() stop {
	s.t.Helper()
	return s.stoppedAfter(s.event("stopped", "exited"))
}

// eachStop calls pause at every stop until the build ends; pause lets the
// build go on (next or resume).
func (s *dapSession) eachStop(pause func(at stop)) {
	for n := 0; ; n++ {
		e := s.event("stopped", "exited")
		if _, done := e.(*dap.ExitedEvent); done {
			return
		}
		if n == 100 {
			s.t.Fatalf("more than 100 stops\n%s", s.transcript())
		}
		pause(s.stoppedAfter(e))
	}
}

// stoppedAfter returns where a stopped event paused the build, failing the
// test on any other event.
func (s *dapSession) stoppedAfter(e dap.EventMessage) stop {
	s.t.Helper()
	ev, ok := e.(*dap.StoppedEvent)
	if !ok {
		s.t.Fatalf("the build ended instead of stopping\n%s", s.transcript())
	}
	resp := s.request(&dap.StackTraceRequest{Request: s.newRequest("stackTrace"),
		Arguments: dap.StackTraceArguments{ThreadId: ev.Body.ThreadId}}).(*dap.StackTraceResponse)
	if len(resp.Body.StackFrames) == 0 {
		s.t.Fatalf("stopped (%s) with no stack frames\n%s", ev.Body.Reason, s.transcript())
	}
	return stop{reason: ev.Body.Reason, hitBreakpoints: ev.Body.HitBreakpointIds, thread: ev.Body.ThreadId, frame: resp.Body.StackFrames[0]}
}

// next steps over the paused step.
func (s *dapSession) next(at stop) {
	s.t.Helper()
	s.request(&dap.NextRequest{Request: s.newRequest("next"), Arguments: dap.NextArguments{ThreadId: at.thread}})
}

// resume continues the build from a stop.
func (s *dapSession) resume(at stop) {
	s.t.Helper()
	s.request(&dap.ContinueRequest{Request: s.newRequest("continue"), Arguments: dap.ContinueArguments{ThreadId: at.thread}})
}

// exitCode waits for buildx to exit and returns the exit code its exited
// event reported.
func (s *dapSession) exitCode() int {
	s.t.Helper()
	deadline := time.After(dapWait)
	for {
		s.mu.Lock()
		eof, exit := s.eof, s.exit
		s.mu.Unlock()
		if eof != nil {
			s.cmd.Wait() // buildx's own exit status repeats the event's
			if exit == nil {
				s.t.Fatalf("the debugger ended with no exited event\n%s", s.transcript())
			}
			return exit.Body.ExitCode
		}
		select {
		case <-s.changed:
		case <-deadline:
			s.t.Fatalf("buildx did not exit in %v\n%s", dapWait, s.transcript())
		}
	}
}

// variables returns the paused frame's "Arguments" scope flattened into
// dotted names: platform, exec.args, exec.env.NAME, exec.workdir, ...
func (s *dapSession) variables(at stop) map[string]string {
	s.t.Helper()
	resp := s.request(&dap.ScopesRequest{Request: s.newRequest("scopes"),
		Arguments: dap.ScopesArguments{FrameId: at.frame.Id}}).(*dap.ScopesResponse)
	out := map[string]string{}
	for _, sc := range resp.Body.Scopes {
		if sc.Name == "Arguments" {
			s.collect(out, "", sc.VariablesReference)
		}
	}
	return out
}

func (s *dapSession) collect(out map[string]string, prefix string, ref int) {
	resp := s.request(&dap.VariablesRequest{Request: s.newRequest("variables"),
		Arguments: dap.VariablesArguments{VariablesReference: ref}}).(*dap.VariablesResponse)
	for _, v := range resp.Body.Variables {
		out[prefix+v.Name] = v.Value
		if v.VariablesReference > 0 {
			s.collect(out, prefix+v.Name+".", v.VariablesReference)
		}
	}
}

// shell opens a shell in the paused step's filesystem with the debugger's
// `exec` (an evaluate request in the REPL), which asks this client to run
// `buildx dap attach` in a terminal. buildx starts the shell again at each
// later pause, in that pause's filesystem, in the same terminal.
//
// Call it at the session's first pause: in buildx v0.38.2 an exec asked
// for at a later pause, when earlier pauses had none, attaches and never
// starts its shell (see docs/debugging.md).
func (s *dapSession) shell(at stop) *terminal {
	s.t.Helper()
	resp := s.request(&dap.EvaluateRequest{Request: s.newRequest("evaluate"),
		Arguments: dap.EvaluateArguments{Expression: "exec", FrameId: at.frame.Id, Context: "repl"}}).(*dap.EvaluateResponse)
	if !strings.Contains(resp.Body.Result, "Started process") {
		s.t.Errorf("evaluate exec answered %q", resp.Body.Result)
	}
	select {
	case term := <-s.terminals:
		s.t.Cleanup(term.close)
		return term
	case <-time.After(dapWait):
		s.t.Fatalf("no runInTerminal request after evaluate exec\n%s", s.transcript())
	}
	return nil
}

// terminal is a command that runInTerminal started on a pseudo-terminal,
// and everything it printed.
type terminal struct {
	pty console.Console
	cmd *exec.Cmd

	mu     sync.Mutex
	out    bytes.Buffer
	shells int // the shells that run has typed into
}

// run waits for the terminal's next shell (one per pause), types script
// into it and returns what the terminal showed from then until script
// ended.
func (term *terminal) run(t *testing.T, script string) string {
	t.Helper()
	term.shells++
	if !term.waitFor(func(out string) bool { return strings.Count(out, "Running ") >= term.shells }) {
		t.Fatalf("shell %d did not start in the build container:\n%s", term.shells, term.text())
	}
	from := len(term.text())
	// The terminal echoes what is typed, so the end marker is computed by
	// the shell and never appears in the echo.
	if _, err := io.WriteString(term.pty, script+"; echo \"end-of-$((40+2))\"\n"); err != nil {
		t.Fatal(err)
	}
	if !term.waitFor(func(out string) bool { return strings.Contains(out[from:], "end-of-42") }) {
		t.Fatalf("%q did not finish in the build container:\n%s", script, term.text())
	}
	return term.text()[from:]
}

// runInTerminal answers the debugger's runInTerminal request: it starts the
// command (buildx dap attach SOCKET) on a new pseudo-terminal, since that
// command puts its terminal in raw mode and fails without one.
func (s *dapSession) runInTerminal(req *dap.RunInTerminalRequest) {
	resp := &dap.RunInTerminalResponse{Response: dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"},
		RequestSeq: req.Seq, Command: req.Command, Success: true}}
	term, err := startTerminal(req.Arguments)
	if err != nil {
		resp.Success, resp.Message = false, err.Error()
	} else {
		resp.Body.ProcessId = term.cmd.Process.Pid
	}
	s.send(resp)
	if err == nil {
		s.terminals <- term
	}
}

func startTerminal(args dap.RunInTerminalRequestArguments) (*terminal, error) {
	if len(args.Args) == 0 {
		return nil, errors.New("runInTerminal with no command")
	}
	pty, slavePath, err := console.NewPty()
	if err != nil {
		return nil, err
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		return nil, err
	}
	defer slave.Close()
	term := &terminal{pty: pty, cmd: exec.Command(args.Args[0], args.Args[1:]...)}
	term.cmd.Dir = args.Cwd
	term.cmd.Env = os.Environ()
	for k, v := range args.Env {
		term.cmd.Env = append(term.cmd.Env, fmt.Sprintf("%s=%v", k, v))
	}
	term.cmd.Stdin, term.cmd.Stdout, term.cmd.Stderr = slave, slave, slave
	term.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := term.cmd.Start(); err != nil {
		pty.Close()
		return nil, err
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term, nil
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until what the terminal showed satisfies done.
func (term *terminal) waitFor(done func(out string) bool) bool {
	deadline := time.Now().Add(dapWait)
	for time.Now().Before(deadline) {
		if done(term.text()) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func (term *terminal) close() {
	term.pty.Close()
	if term.cmd.ProcessState == nil {
		term.cmd.Process.Kill()
		term.cmd.Wait()
	}
}

// transcript is the session so far, for failure messages: every event
// (the build's progress comes as output events) and buildx's stderr.
func (s *dapSession) transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, e := range s.events {
		switch e := e.(type) {
		case *dap.OutputEvent:
			b.WriteString(e.Body.Output)
		default:
			dt, _ := json.Marshal(e)
			fmt.Fprintf(&b, "event: %s\n", dt)
		}
	}
	fmt.Fprintf(&b, "stderr:\n%s", s.stderr.String())
	return b.String()
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
