package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	mode "github.com/tonistiigi/dchapes-mode"
)

// ParseMode parses an octal permission such as 0755, as a mount's mode.
func ParseMode(s string) (os.FileMode, error) {
	p, err := strconv.ParseUint(s, 8, 32)
	if err != nil || p > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: want an octal number up to 07777, such as 0755", s)
	}
	return os.FileMode(p), nil
}

// ParseChmod parses a copy's chmod: an octal mode (returned as the mode) or
// a symbolic one such as u=rwX,go=rX (returned as the string, for BuildKit
// to apply per file), as COPY --chmod takes.
func ParseChmod(s string) (os.FileMode, string, error) {
	if p, err := strconv.ParseUint(s, 8, 32); err == nil {
		if p > 0o7777 {
			return 0, "", fmt.Errorf("invalid chmod %q: an octal mode goes up to 07777", s)
		}
		return os.FileMode(p), "", nil
	}
	if _, err := mode.Parse(s); err != nil || s == "" || isDigits(s) {
		return 0, "", fmt.Errorf("invalid chmod %q: want an octal mode (0755) or a symbolic one (u=rwX,go=rX)", s)
	}
	return 0, s, nil
}

func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// ChownByName reports whether a user[:group] names a user or group by name
// rather than by number.
func ChownByName(chown string) bool {
	for _, part := range strings.SplitN(chown, ":", 2) {
		if part != "" && !isDigits(part) {
			return true
		}
	}
	return false
}

// ParseSize parses a tmpfs size: bytes, or a number with a unit (64m, 1g).
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q: want bytes or a number with a unit, such as 64m", s)
	}
	return n, nil
}

// ParseDuration parses a health check duration. As in Docker, 0 means "the
// default" and anything else must be at least a millisecond.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, such as 30s or 1m30s", s)
	}
	if d < 0 || (d > 0 && d < time.Millisecond) {
		return 0, fmt.Errorf("invalid duration %q: want 0 or at least 1ms", s)
	}
	return d, nil
}

// HealthcheckTest returns a health check's test in the image config's form:
// a string becomes [CMD-SHELL, string]; a list must start with CMD,
// CMD-SHELL or NONE.
func HealthcheckTest(c *Command) ([]string, error) {
	if c == nil {
		return nil, fmt.Errorf("a healthcheck needs test: [CMD, arg...], [CMD-SHELL, script], [NONE], or a string")
	}
	if !c.IsExec {
		if strings.TrimSpace(c.Shell) == "" {
			return nil, fmt.Errorf("test must not be empty")
		}
		return []string{"CMD-SHELL", c.Shell}, nil
	}
	if len(c.Exec) == 0 {
		return nil, fmt.Errorf("test must not be empty: start it with CMD, CMD-SHELL or NONE")
	}
	switch c.Exec[0] {
	case "CMD":
		if len(c.Exec) < 2 {
			return nil, fmt.Errorf("[CMD] needs a command after it")
		}
	case "CMD-SHELL":
		if len(c.Exec) != 2 {
			return nil, fmt.Errorf("[CMD-SHELL] takes exactly one script after it")
		}
	case "NONE":
		if len(c.Exec) != 1 {
			return nil, fmt.Errorf("[NONE] takes nothing after it")
		}
	default:
		return nil, fmt.Errorf("test starts with %q: want CMD, CMD-SHELL or NONE first, as in [CMD, python, -c, ...]", c.Exec[0])
	}
	return c.Exec, nil
}
