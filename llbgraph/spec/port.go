package spec

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

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

// ValueSchema returns a port number, or port[-port][/proto] or a template.
func (Port) ValueSchema() *ValueSchema {
	return &ValueSchema{AnyOf: []*ValueSchema{
		{Types: []string{"integer"}, Minimum: "1", Maximum: "65535"},
		{Types: []string{"string"}, Pattern: `^(?:[0-9]+(?:-[0-9]+)?(?:/(?:tcp|udp|sctp))?|` + templatePattern + `)$`},
	}}
}

func (p *Port) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*p = Port{Raw: text}
		if !NeedsExpansion(text) {
			*p, err = ParsePort(text)
		}
		p.Range = r
		return err
	})
}

// Ports is a list of ports and port ranges; one port is a list of one.
type Ports []Port

// ValueSchema returns a port or a list of ports.
func (Ports) ValueSchema() *ValueSchema { return listOf(Port{}.ValueSchema) }

func (ps *Ports) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	if n.Kind == yaml.ScalarNode {
		*ps = make(Ports, 1)
		(*ps)[0].decodeYAML(d, l.at(0), n, depth+1)
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(l, n, "want a list, got %s", describe(n))
		return
	}
	*ps = make(Ports, len(n.Content))
	for i, e := range n.Content {
		if e = d.resolve(l.at(i), e, depth+1); e != nil {
			(*ps)[i].decodeYAML(d, l.at(i), e, depth+1)
		}
	}
}
