package convert

import (
	"bytes"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// str is a string scalar; the encoder quotes it where YAML would read
// something else (a number, a boolean, null).
func str(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if bytes.ContainsRune([]byte(v), '\n') {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// boolean is a true scalar: the spec's flags are only ever written true.
func boolean() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"} }

// integer is a number scalar.
func integer(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v} }

// mapping is an empty mapping, in flow style ({a: 1}) when flow is set.
func mapping(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

// sequence is a sequence of items, in flow style when flow is set.
func sequence(flow bool, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

// strs is a flow sequence of strings.
func strs(vs []string) *yaml.Node {
	n := sequence(true)
	for _, v := range vs {
		n.Content = append(n.Content, str(v))
	}
	return n
}

// put adds key: v to mapping m and returns the key's node.
func put(m *yaml.Node, key string, v *yaml.Node) *yaml.Node {
	k := str(key)
	m.Content = append(m.Content, k, v)
	return k
}

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// encode writes the document, then loads it as a spec: a problem the spec
// finds is reported at the Dockerfile line its node came from.
func (c *converter) encode(doc *yaml.Node) ([]byte, error) {
	if n := countNodes(doc, maxNodes+1); n > maxNodes {
		return nil, &Error{File: c.file, Msg: fmt.Sprintf("the spec would have more than %d YAML nodes, more than a conversion writes", maxNodes)}
	}
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(doc); err != nil {
		return nil, &Error{File: c.file, Msg: "cannot write the spec: " + err.Error()}
	}
	if err := e.Close(); err != nil {
		return nil, &Error{File: c.file, Msg: "cannot write the spec: " + err.Error()}
	}
	out := b.Bytes()
	if _, err := spec.Load(c.file+".build.yaml", out); err != nil {
		return nil, c.specErrors(doc, out, err)
	}
	return out, nil
}

// maxNodes bounds the nodes of a converted spec, checked before it is
// encoded: the encoder keeps every event of a document, a kilobyte or two
// each. The twin's spec has about 500.
const maxNodes = 20000

// countNodes counts the nodes of the tree at n, up to limit.
func countNodes(n *yaml.Node, limit int) int {
	count := 1
	for _, c := range n.Content {
		if count > limit {
			break
		}
		count += countNodes(c, limit-count)
	}
	return count
}

// specErrors puts each problem spec.Load found in the converted spec at
// the Dockerfile line its node came from: the written spec is read back
// into nodes, walked beside the ones converted, and each spec line takes
// the origin of the innermost node that starts on it.
func (c *converter) specErrors(doc *yaml.Node, out []byte, loadErr error) error {
	var back yaml.Node
	lineOrigin := map[int]int{}
	if yaml.Unmarshal(out, &back) == nil {
		var walk func(orig, read *yaml.Node, inherited int)
		walk = func(orig, read *yaml.Node, inherited int) {
			if o, ok := c.origin[orig]; ok {
				inherited = o
			}
			if inherited > 0 {
				lineOrigin[read.Line] = inherited
			}
			for i := 0; i < len(orig.Content) && i < len(read.Content); i++ {
				walk(orig.Content[i], read.Content[i], inherited)
			}
		}
		walk(doc, &back, 0)
	}
	var errs []error
	for _, e := range spec.Errors(loadErr) {
		msg := e.Msg
		if e.Path != "" {
			msg = e.Path + ": " + msg
		}
		if e.Err != nil {
			msg += ": " + e.Err.Error()
		}
		errs = append(errs, &Error{File: c.file, Line: lineOrigin[e.Range.Start.Line], Msg: "the spec would not load: " + msg})
	}
	if len(errs) == 0 {
		errs = append(errs, &Error{File: c.file, Msg: "the spec would not load: " + loadErr.Error()})
	}
	return errors.Join(errs...)
}
