package spec

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/go-units"
	"github.com/moby/sys/signal"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	mode "github.com/tonistiigi/dchapes-mode"
)

// The values below are parsed once, by [Load] when written literally, or
// by the compiler after it expands a value holding ${NAME}: each has a Raw
// text and its parsed fields, and IsTemplate says which case it is.

// Mode is an octal permission, such as a mount's mode: 0755.
type Mode struct {
	// Value is the permission.
	Value os.FileMode
	// Range is where the value is.
	Range Range
}

// ParseMode parses an octal permission such as 0755.
func ParseMode(s string) (os.FileMode, error) {
	p, err := strconv.ParseUint(s, 8, 32)
	if err != nil || p > 0o7777 {
		return 0, fmt.Errorf("invalid mode %s: want an octal number up to 07777, such as 0755", Quote(s))
	}
	return os.FileMode(p), nil
}

func (m *Mode) check() error {
	if m.Value > 0o7777 {
		return fmt.Errorf("invalid mode %#o: want an octal number up to 07777", uint32(m.Value))
	}
	return nil
}

// Chmod is a copy's chmod: an octal mode (0755) or a symbolic one
// (u=rwX,go=rX), as COPY --chmod takes.
type Chmod struct {
	// Raw is the text as written.
	Raw string
	// Mode is an octal mode, when Symbolic is empty.
	Mode os.FileMode
	// Symbolic is a symbolic mode, applied by BuildKit per file.
	Symbolic string
	// Range is where the value is.
	Range Range
}

// IsTemplate reports whether the value must be expanded, then parsed.
func (c *Chmod) IsTemplate() bool { return NeedsExpansion(c.Raw) }

// ParseChmod parses a copy's chmod.
func ParseChmod(s string) (Chmod, error) {
	if p, err := strconv.ParseUint(s, 8, 32); err == nil {
		if p > 0o7777 {
			return Chmod{}, fmt.Errorf("invalid chmod %s: an octal mode goes up to 07777", Quote(s))
		}
		return Chmod{Raw: s, Mode: os.FileMode(p)}, nil
	}
	if _, err := mode.Parse(s); err != nil || s == "" || strings.Trim(s, "0123456789") == "" {
		return Chmod{}, fmt.Errorf("invalid chmod %s: want an octal mode (0755) or a symbolic one (u=rwX,go=rX)", Quote(s))
	}
	return Chmod{Raw: s, Symbolic: s}, nil
}

func (c *Chmod) check() error {
	if c.IsTemplate() {
		return nil
	}
	if c.Symbolic != "" {
		_, err := ParseChmod(c.Symbolic)
		return err
	}
	if c.Mode > 0o7777 {
		return fmt.Errorf("invalid chmod %#o: an octal mode goes up to 07777", uint32(c.Mode))
	}
	return nil
}

// String returns the chmod as COPY --chmod would say it.
func (c *Chmod) String() string {
	switch {
	case c.Raw != "":
		return c.Raw
	case c.Symbolic != "":
		return c.Symbolic
	}
	return fmt.Sprintf("%04o", uint32(c.Mode))
}

// Size is a size in bytes, written as bytes or with a unit (64m, 1g).
type Size struct {
	// Value is the size in bytes.
	Value int64
	// Range is where the value is.
	Range Range
}

// ParseSize parses a size: bytes, or a number with a unit (64m, 1g).
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %s: want bytes or a number with a unit, such as 64m", Quote(s))
	}
	return n, nil
}

// Duration is a health check duration: a Go duration such as 30s or 1m30s.
type Duration struct {
	// Value is the duration.
	Value time.Duration
	// Range is where the value is.
	Range Range
}

// ParseDuration parses a health check duration. As in Docker, 0 means
// "the default" and anything else must be at least a millisecond.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %s: want a number with a unit, such as 30s or 1m30s", Quote(s))
	}
	return d, checkDuration(d)
}

func checkDuration(d time.Duration) error {
	if d < 0 || (d > 0 && d < time.Millisecond) {
		return fmt.Errorf("invalid duration %s: want 0 or at least 1ms", d)
	}
	return nil
}

// Owner is a user and an optional group, user[:group], by name or number:
// a stage's or step's user, and a copy's chown.
type Owner struct {
	// Raw is the text as written.
	Raw string
	// User is the user's name or number.
	User string
	// Group is the group's name or number; empty for the user's own.
	Group string
	// Range is where the value is.
	Range Range
}

// IsSet reports whether an owner is given.
func (o *Owner) IsSet() bool { return o.Raw != "" || o.User != "" }

// IsTemplate reports whether the value must be expanded, then parsed.
func (o *Owner) IsTemplate() bool { return NeedsExpansion(o.Raw) }

// String returns user[:group].
func (o *Owner) String() string {
	if o.Raw != "" && !o.IsTemplate() {
		return o.Raw
	}
	if o.Group != "" {
		return o.User + ":" + o.Group
	}
	return o.User
}

// ByName reports whether the user or the group is a name rather than a
// number, which must be looked up in the image's /etc/passwd.
func (o *Owner) ByName() bool {
	return (o.User != "" && !isDigits(o.User)) || (o.Group != "" && !isDigits(o.Group))
}

var ownerPartRe = regexp.MustCompile(`^` + OwnerPartPattern + `$`)

// ParseOwner parses user[:group]. Each part is a number or a name of
// letters, digits, '_', '.' and '-'.
func ParseOwner(s string) (Owner, error) {
	user, group, hasGroup := strings.Cut(s, ":")
	o := Owner{Raw: s, User: user, Group: group}
	switch {
	case s == "":
		return o, fmt.Errorf("want user[:group], got an empty value")
	case hasGroup && strings.Contains(group, ":"):
		return o, fmt.Errorf("invalid user %s: want user[:group], with one ':' at most", Quote(s))
	case hasGroup && group == "":
		return o, fmt.Errorf("invalid user %s: the group after ':' is empty", Quote(s))
	}
	return o, o.check()
}

func (o *Owner) check() error {
	if o.IsTemplate() {
		return nil
	}
	if !ownerPartRe.MatchString(o.User) {
		return fmt.Errorf("invalid user %s: want a name or a number before any ':'", Quote(o.User))
	}
	if o.Group != "" && !ownerPartRe.MatchString(o.Group) {
		return fmt.Errorf("invalid group %s: want a name or a number", Quote(o.Group))
	}
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// maxPortRange bounds how many ports one expose range may name.
const maxPortRange = 1024

// Port is an exposed port or port range, port[-port][/tcp|/udp|/sctp].
type Port struct {
	// Raw is the text as written.
	Raw string
	// First is the first port of the range.
	First int
	// Last is the last port of the range; First for one port.
	Last int
	// Proto is tcp, udp or sctp.
	Proto string
	// Range is where the value is.
	Range Range
}

// IsTemplate reports whether the value must be expanded, then parsed.
func (p *Port) IsTemplate() bool { return NeedsExpansion(p.Raw) }

// ParsePort parses port[-port][/tcp|/udp|/sctp]. A range names at most
// 1024 ports, between 1 and 65535.
func ParsePort(s string) (Port, error) {
	p := Port{Raw: s, Proto: "tcp"}
	ports, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		p.Proto = proto
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	if !isRange {
		hi = lo
	}
	var err1, err2 error
	p.First, err1 = strconv.Atoi(lo)
	p.Last, err2 = strconv.Atoi(hi)
	if err1 != nil || err2 != nil || !isDigits(lo) || !isDigits(hi) {
		return p, fmt.Errorf("%s is not a port: want port[-port][/tcp|/udp|/sctp], such as 8000/tcp", Quote(s))
	}
	return p, p.check()
}

func (p *Port) check() error {
	if p.IsTemplate() {
		return nil
	}
	switch {
	case p.Proto != "tcp" && p.Proto != "udp" && p.Proto != "sctp":
		return fmt.Errorf("%s has protocol %s: want tcp, udp or sctp", Quote(p.String()), Quote(p.Proto))
	case p.First < 1 || p.Last > 65535 || p.First > p.Last:
		return fmt.Errorf("%s is not a port or a port range between 1 and 65535", Quote(p.String()))
	case p.Last-p.First >= maxPortRange:
		return fmt.Errorf("%s names %d ports: a range names at most %d", Quote(p.String()), p.Last-p.First+1, maxPortRange)
	}
	return nil
}

// String returns the port as written, or as port[-port]/proto.
func (p *Port) String() string {
	if p.Raw != "" {
		return p.Raw
	}
	if p.First == p.Last {
		return fmt.Sprintf("%d/%s", p.First, p.Proto)
	}
	return fmt.Sprintf("%d-%d/%s", p.First, p.Last, p.Proto)
}

// Each returns the ports of the range as the image config names them,
// port/proto.
func (p *Port) Each() []string {
	out := make([]string, 0, p.Last-p.First+1)
	for port := p.First; port <= p.Last; port++ {
		out = append(out, strconv.Itoa(port)+"/"+p.Proto)
	}
	return out
}

// Signal is a signal name or number (SIGTERM, TERM, 15, SIGRTMIN+3), as
// STOPSIGNAL takes.
type Signal struct {
	// Raw is the text as written, which the image config keeps.
	Raw string
	// Range is where the value is.
	Range Range
}

// IsTemplate reports whether the value must be expanded, then parsed.
func (s *Signal) IsTemplate() bool { return NeedsExpansion(s.Raw) }

// ParseSignal checks a signal name or number.
func ParseSignal(s string) error {
	if _, err := signal.ParseSignal(s); err != nil {
		return fmt.Errorf("%s is not a signal: want a name such as SIGTERM or a number", Quote(s))
	}
	return nil
}

func (s *Signal) check() error {
	if s.IsTemplate() {
		return nil
	}
	return ParseSignal(s.Raw)
}

// Platform is a platform such as linux/arm64, or ${BUILDPLATFORM}.
type Platform struct {
	// Raw is the text as written.
	Raw string
	// Value is the parsed, normalized platform, when Raw is not a template.
	Value ocispecs.Platform
	// Range is where the value is.
	Range Range
}

// IsSet reports whether a platform is given.
func (p *Platform) IsSet() bool { return p.Raw != "" || p.Value.OS != "" }

// IsTemplate reports whether the value must be expanded, then parsed.
func (p *Platform) IsTemplate() bool { return NeedsExpansion(p.Raw) }

// ParsePlatform parses and normalizes a platform, os/arch[/variant].
func ParsePlatform(s string) (ocispecs.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return ocispecs.Platform{}, fmt.Errorf("invalid platform %s: want os/arch[/variant], such as linux/arm64", Quote(s))
	}
	return platforms.Normalize(p), nil
}

// HealthTest is a health check's test in the image config's form: [CMD,
// arg...], [CMD-SHELL, script] or [NONE]. A string test is written as
// [CMD-SHELL, string].
type HealthTest struct {
	// Args is the test.
	Args []string
	// Range is where the test is.
	Range Range
}

// ParseHealthTest turns a healthcheck's test into the image config's form.
func ParseHealthTest(c *Command) ([]string, error) {
	if !c.IsExec {
		if strings.TrimSpace(c.Shell) == "" {
			return nil, fmt.Errorf("test must not be empty")
		}
		return []string{"CMD-SHELL", c.Shell}, nil
	}
	return c.Exec, checkHealthTest(c.Exec)
}

func checkHealthTest(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("a healthcheck needs test: [CMD, arg...], [CMD-SHELL, script], [NONE], or a string")
	}
	switch args[0] {
	case "CMD":
		if len(args) < 2 {
			return fmt.Errorf("[CMD] needs a command after it")
		}
	case "CMD-SHELL":
		if len(args) != 2 {
			return fmt.Errorf("[CMD-SHELL] takes exactly one script after it")
		}
	case "NONE":
		if len(args) != 1 {
			return fmt.Errorf("[NONE] takes nothing after it")
		}
	default:
		return fmt.Errorf("test starts with %s: want CMD, CMD-SHELL or NONE first, as in [CMD, python, -c, ...]", Quote(args[0]))
	}
	return nil
}
