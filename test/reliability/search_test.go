//go:build reliability

package reliability

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"testing"

	"github.com/moby/go-archive/compression"
)

// needle is a value searched for, in its raw form and its base64 forms.
type needle struct {
	name  string
	forms [][]byte
}

// newNeedle returns a needle for v: the raw bytes and the base64 text that
// v's bytes make wherever they start in a longer base64-encoded blob (the
// three alignments, trimmed to the characters that v alone decides).
func newNeedle(name, v string) needle {
	n := needle{name: name, forms: [][]byte{[]byte(v)}}
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), v...))
		first := (k + 2) / 3                           // the first group made of v's bytes only
		last := (k+len(v))/3 - 1                       // the last one
		if last-first+1 < 4 || 4*(last+1) > len(enc) { // too short to be telling
			continue
		}
		n.forms = append(n.forms, []byte(enc[4*first:4*(last+1)]))
	}
	return n
}

// haystack counts what a search went through and what it found.
type haystack struct {
	items int            // files, blobs, entries searched
	bytes int64          // bytes searched, after decompression
	hits  map[string]int // needle name -> occurrences
}

func newHaystack() *haystack { return &haystack{hits: map[string]int{}} }

// search looks for every needle in dt. What is compressed is searched
// decompressed, and a tar as its entries' names, links, attributes and
// contents, down to a few levels (a gzip layer in a tar of blobs is
// searched as the files of its tar); every other item is searched as is.
func (h *haystack) search(dt []byte, needles []needle) {
	h.searchDepth(dt, needles, 0)
}

func (h *haystack) count(dt []byte, needles []needle) {
	h.items++
	h.bytes += int64(len(dt))
	for _, n := range needles {
		for _, f := range n.forms {
			h.hits[n.name] += bytes.Count(dt, f)
		}
	}
}

func (h *haystack) searchDepth(dt []byte, needles []needle, depth int) {
	if depth < 4 && len(dt) > 0 {
		if c := compression.Detect(dt); c != compression.None {
			if rc, err := compression.DecompressStream(bytes.NewReader(dt)); err == nil {
				inner, err := io.ReadAll(rc)
				rc.Close()
				if err == nil {
					h.searchDepth(inner, needles, depth+1)
					return
				}
			}
		}
		if isTar(dt) && h.searchTar(dt, needles, depth) {
			return
		}
	}
	h.count(dt, needles)
}

// searchTar searches a tar's entries; false if it is not a readable tar.
func (h *haystack) searchTar(dt []byte, needles []needle, depth int) bool {
	tr := tar.NewReader(bytes.NewReader(dt))
	var entries [][]byte
	var meta bytes.Buffer
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
		meta.WriteString(hdr.Name + "\n" + hdr.Linkname + "\n" + hdr.Uname + "\n" + hdr.Gname + "\n")
		for k, v := range hdr.PAXRecords {
			meta.WriteString(k + "=" + v + "\n")
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		entry, err := io.ReadAll(tr)
		if err != nil {
			return false
		}
		entries = append(entries, entry)
	}
	h.count(meta.Bytes(), needles)
	for _, e := range entries {
		h.searchDepth(e, needles, depth+1)
	}
	return true
}

// isTar reports whether dt starts with a ustar header.
func isTar(dt []byte) bool {
	return len(dt) >= 512 && bytes.Equal(dt[257:262], []byte("ustar"))
}

// The search finds a value as is, in base64 at any alignment, inside a
// gzip layer inside a tar, and in a tar entry's name; and not elsewhere.
func TestSearchFindsNestedNeedles(t *testing.T) {
	secret := "s3cr3t-" + token()
	n := []needle{newNeedle("secret", secret)}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	var layer bytes.Buffer
	zw := gzip.NewWriter(&layer)
	inner := tar.NewWriter(zw)
	body := []byte("x" + secret + "y")
	if err := inner.WriteHeader(&tar.Header{Name: "etc/key", Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	inner.Write(body)
	inner.Close()
	zw.Close()
	add("blobs/sha256/layer", layer.Bytes())
	for k := range 3 {
		add(fmt.Sprintf("b64-%d", k), []byte(base64.StdEncoding.EncodeToString(append([]byte("ab"[:k]), secret+"tail"...))))
	}
	add("named-"+secret, nil)
	add("clean", []byte("nothing to see"))
	tw.Close()
	h := newHaystack()
	h.search(tarBuf.Bytes(), n)
	if got := h.hits["secret"]; got != 5 {
		t.Errorf("found the secret %d times, want 5 (the layer's file, three base64 alignments, an entry name)", got)
	}
	clean := newHaystack()
	clean.search([]byte("nothing to see"), n)
	if clean.hits["secret"] != 0 {
		t.Errorf("found the secret in clean data")
	}
}
