//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ownRegistry is the suite's registry: distribution's registry on a free
// loopback port, with its storage under the suite's state directory. The
// faults figure stops it and starts it again on the same port.
type ownRegistry struct {
	host, dir, bin string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{}
}

func startRegistry(ctx context.Context, bin, dir string) (*ownRegistry, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`# Written by test/reliability.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), host)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	r := &ownRegistry{host: host, dir: dir, bin: filepath.Join(bin, "registry")}
	return r, r.start(ctx)
}

// start runs the registry and waits up to 20 s for it to answer.
func (r *ownRegistry) start(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(r.dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(r.bin, "serve", filepath.Join(r.dir, "config.yml"))
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited, err := startLocked(cmd, func(error) {})
	if err != nil {
		return fmt.Errorf("starting the suite's registry: %w", err)
	}
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.host+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the suite's registry on %s exited while starting (see %s/registry.log)", r.host, r.dir)
		case <-ctx.Done():
			return fmt.Errorf("the suite's registry on %s did not answer within 20s: %v", r.host, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// renice sets the registry's scheduling priority (nice value).
func (r *ownRegistry) renice(nice int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return fmt.Errorf("the suite's registry is not running")
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, r.cmd.Process.Pid, nice)
}

// stop stops the registry (SIGTERM, then SIGKILL after 10 s).
func (r *ownRegistry) stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}
