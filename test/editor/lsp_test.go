//go:build integration

package editor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lsp is a client of a language server on stdio: JSON-RPC 2.0 messages
// framed by Content-Length headers, as the Language Server Protocol says.
type lsp struct {
	t        *testing.T
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *lockedBuffer
	settings any // what the client answers workspace/configuration with

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int
	pending map[int]chan message
	diags   map[string][]publishDiagnostics // by document URI, in arrival order
	changed chan struct{}                   // closed and replaced when diags change
	readErr error
}

// message is any JSON-RPC message: a request, a response or a notification.
type message struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// publishDiagnostics is the textDocument/publishDiagnostics notification.
type publishDiagnostics struct {
	URI         string       `json:"uri"`
	Version     *int         `json:"version"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type diagnostic struct {
	Range struct {
		Start struct {
			Line      int `json:"line"`
			Character int `json:"character"`
		} `json:"start"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Message  string `json:"message"`
	Source   string `json:"source"`
}

func (d diagnostic) String() string {
	return fmt.Sprintf("line %d, column %d: %s", d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
}

// lockedBuffer collects the server's stderr for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts `yaml-language-server --stdio` and initializes it with
// settings (the `yaml` section of an editor's settings), which the server
// also gets on each workspace/configuration request, and with workspace as
// the workspace folder when it is not empty.
func startServer(t *testing.T, workspace string, settings map[string]any) *lsp {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v; hack/editor-deps.sh installs it (make editor)", err)
	}
	server := serverPath(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, server, "--stdio")
	c := &lsp{
		t: t, cmd: cmd, stderr: &lockedBuffer{},
		settings: settings,
		pending:  map[int]chan message{},
		diags:    map[string][]publishDiagnostics{},
		changed:  make(chan struct{}),
	}
	cmd.Stderr = c.stderr
	cmd.Dir = t.TempDir()
	c.stdin, err = cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", server, err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.read(bufio.NewReader(stdout))
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		select {
		case <-readDone:
		case <-time.After(5 * time.Second):
		}
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("yaml-language-server's stderr:\n%s", c.stderr.String())
		}
	})

	var initResult struct {
		Capabilities struct {
			CompletionProvider any `json:"completionProvider"`
		} `json:"capabilities"`
		ServerInfo struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"serverInfo"`
	}
	var rootURI, folders any
	if workspace != "" {
		rootURI = fileURI(workspace)
		folders = []any{map[string]any{"uri": fileURI(workspace), "name": filepath.Base(workspace)}}
	}
	c.call("initialize", map[string]any{
		"processId":        os.Getpid(),
		"rootUri":          rootURI,
		"workspaceFolders": folders,
		"capabilities": map[string]any{
			"workspace": map[string]any{"configuration": true, "didChangeConfiguration": map[string]any{"dynamicRegistration": true}},
			"textDocument": map[string]any{
				"completion":         map[string]any{"completionItem": map[string]any{"snippetSupport": false}},
				"publishDiagnostics": map[string]any{"relatedInformation": false},
				"synchronization":    map[string]any{"didSave": false},
			},
		},
		"initializationOptions": map[string]any{},
	}, &initResult)
	if initResult.Capabilities.CompletionProvider == nil {
		t.Fatal("yaml-language-server offers no completion")
	}
	c.notify("initialized", map[string]any{})
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"yaml": settings}})
	return c
}

// read dispatches the server's messages until its stdout closes.
func (c *lsp) read(r *bufio.Reader) {
	for {
		m, err := readMessage(r)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		switch {
		case m.Method != "" && m.ID != nil: // a request from the server
			c.answer(m)
		case m.Method == "textDocument/publishDiagnostics":
			var p publishDiagnostics
			if json.Unmarshal(m.Params, &p) == nil {
				c.mu.Lock()
				c.diags[p.URI] = append(c.diags[p.URI], p)
				close(c.changed)
				c.changed = make(chan struct{})
				c.mu.Unlock()
			}
		case m.Method == "": // a response
			var id int
			if m.ID != nil && json.Unmarshal(*m.ID, &id) == nil {
				c.mu.Lock()
				ch := c.pending[id]
				delete(c.pending, id)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
			}
		}
	}
}

// answer replies to a request from the server: the settings for
// workspace/configuration, null for the rest (registrations, progress).
func (c *lsp) answer(m message) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		_ = json.Unmarshal(m.Params, &p)
		out := make([]any, len(p.Items))
		for i, it := range p.Items {
			switch it.Section {
			case "yaml":
				out[i] = c.settings
			default:
				out[i] = nil
			}
		}
		result = out
	}
	// A failed write shows as the server's missing answer; this goroutine
	// cannot fail the test.
	_ = c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

// readMessage reads one framed message.
func readMessage(r *bufio.Reader) (message, error) {
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return message{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length:"); ok {
			length, err = strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return message{}, fmt.Errorf("bad header %q", line)
			}
		}
	}
	if length < 0 || length > 64<<20 {
		return message{}, fmt.Errorf("bad or missing Content-Length (%d)", length)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return message{}, err
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, fmt.Errorf("bad message %q: %w", body, err)
	}
	return m, nil
}

// send writes one framed message.
func (c *lsp) send(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := fmt.Fprintf(c.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		return fmt.Errorf("writing to yaml-language-server: %w", err)
	}
	return nil
}

// rpcTimeout bounds every wait for the server.
const rpcTimeout = 30 * time.Second

// call sends a request and decodes its result into out.
func (c *lsp) call(method string, params, out any) {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan message, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			c.t.Fatalf("%s: yaml-language-server stopped (%v)", method, c.readErr)
		}
		if m.Error != nil {
			c.t.Fatalf("%s: error %d: %s", method, m.Error.Code, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				c.t.Fatalf("%s: result %s: %v", method, m.Result, err)
			}
		}
	case <-time.After(rpcTimeout):
		c.t.Fatalf("%s: no answer from yaml-language-server in %s", method, rpcTimeout)
	}
}

// notify sends a notification.
func (c *lsp) notify(method string, params any) {
	c.t.Helper()
	if err := c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params}); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// open opens a document.
func (c *lsp) open(uri, text string) {
	c.notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": "yaml", "version": 1, "text": text},
	})
}

// change replaces a document's text.
func (c *lsp) change(uri string, version int, text string) {
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": version},
		"contentChanges": []any{map[string]any{"text": text}},
	})
}

// diagnostics waits for diagnostics of uri, after the first `skip` that
// were published, that satisfy ok, and returns them. It fails the test
// with the last ones seen after rpcTimeout.
func (c *lsp) diagnostics(uri string, skip int, what string, ok func([]diagnostic) bool) []diagnostic {
	c.t.Helper()
	deadline := time.After(rpcTimeout)
	for {
		c.mu.Lock()
		published := c.diags[uri]
		changed := c.changed
		readErr := c.readErr
		c.mu.Unlock()
		for i := skip; i < len(published); i++ {
			if ok(published[i].Diagnostics) {
				return published[i].Diagnostics
			}
		}
		if readErr != nil {
			c.t.Fatalf("%s: yaml-language-server stopped (%v)", what, readErr)
		}
		select {
		case <-changed:
		case <-deadline:
			var last []diagnostic
			if len(published) > 0 {
				last = published[len(published)-1].Diagnostics
			}
			c.t.Fatalf("%s: no such diagnostics for %s in %s; %d published, the last: %v", what, uri, rpcTimeout, len(published), last)
		}
	}
}

// published returns how many times diagnostics of uri were published.
func (c *lsp) published(uri string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.diags[uri])
}

// completion returns the labels the server completes at a position.
func (c *lsp) completion(uri string, line, character int) []string {
	c.t.Helper()
	var raw json.RawMessage
	c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"position":     map[string]any{"line": line, "character": character},
	}, &raw)
	type item struct {
		Label string `json:"label"`
	}
	// The result is a CompletionList, a list of items, or null.
	var list struct {
		Items []item `json:"items"`
	}
	var items []item
	switch {
	case string(raw) == "null":
	case json.Unmarshal(raw, &list) == nil:
		items = list.Items
	default:
		if err := json.Unmarshal(raw, &items); err != nil {
			c.t.Fatalf("completion result %s: %v", raw, err)
		}
	}
	labels := make([]string, len(items))
	for i, it := range items {
		labels[i] = it.Label
	}
	return labels
}

// completeWhen asks for completions at a position until they include want:
// the server answers with nothing until it has read the document and its
// schema, which it does in the background. After rpcTimeout it returns
// the last answer.
func (c *lsp) completeWhen(uri string, line, character int, want string) []string {
	c.t.Helper()
	deadline := time.Now().Add(rpcTimeout)
	for {
		got := c.completion(uri, line, character)
		if slices.Contains(got, want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hoverWhen asks for the hover text at a position until it holds want,
// for the reason completeWhen waits. After rpcTimeout it returns the last.
func (c *lsp) hoverWhen(uri string, line, character int, want string) string {
	c.t.Helper()
	deadline := time.Now().Add(rpcTimeout)
	for {
		var h struct {
			Contents json.RawMessage `json:"contents"`
		}
		c.call("textDocument/hover", map[string]any{
			"textDocument": map[string]any{"uri": uri},
			"position":     map[string]any{"line": line, "character": character},
		}, &h)
		// MarkupContent, a MarkedString or a list of them: the text is in there.
		text := string(h.Contents)
		if strings.Contains(text, want) || time.Now().After(deadline) {
			return text
		}
		time.Sleep(100 * time.Millisecond)
	}
}
