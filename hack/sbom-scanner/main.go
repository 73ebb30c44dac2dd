// Command sbom-scanner is a BuildKit SBOM generator built on
// github.com/anchore/syft, for builders that cannot pull
// docker/buildkit-syft-scanner. It follows BuildKit's scanner protocol
// (docs/attestations/sbom-protocol.md in moby/buildkit): it scans the root
// filesystem at $BUILDKIT_SCAN_SOURCE and each one under
// $BUILDKIT_SCAN_SOURCE_EXTRAS, and writes one SPDX JSON document per
// target to $BUILDKIT_SCAN_DESTINATION/<target>.spdx.json. Each file is an
// in-toto statement with the SPDX document as its predicate: BuildKit's
// exporter unbundles the directory as statements of predicate type
// https://spdx.dev/Document (exporter/attestation/unbundle.go) and fills in
// the subject, the image, itself; a bare SPDX document fails the export with
// "bundle entry  does not match required predicate type".
//
// Its documents are reproducible: the creation time comes from
// SOURCE_DATE_EPOCH (the scanner parameter of that name, passed as
// --sbom=generator=IMAGE,SOURCE_DATE_EPOCH=N, which BuildKit hands over as
// BUILDKIT_SCAN_SOURCE_DATE_EPOCH, or the variable itself), and the
// document namespace is derived from the content instead of a random UUID,
// so the same filesystem gives the same bytes.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/common/spdxhelpers"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	spdxcommon "github.com/spdx/tools-golang/spdx/v2/common"
	_ "modernc.org/sqlite" // the rpm database cataloger reads sqlite
)

// toolName names this scanner in the documents' creators.
const toolName = "ohlcv-build-sbom-scanner"

// namespaceBase prefixes every document namespace.
const namespaceBase = "https://github.com/ohlcv-rag/ohlcv-build/sbom/"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(toolName, "syft", syftVersion())
		return
	}
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "sbom-scanner:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	dest := os.Getenv("BUILDKIT_SCAN_DESTINATION")
	src := os.Getenv("BUILDKIT_SCAN_SOURCE")
	if dest == "" || src == "" {
		return errors.New("BUILDKIT_SCAN_DESTINATION and BUILDKIT_SCAN_SOURCE must be set (this image is run by BuildKit as an SBOM generator)")
	}
	created, err := creationTime()
	if err != nil {
		return err
	}
	targets := []string{src}
	// Extras are optional: unset, empty or missing means none.
	if extras := os.Getenv("BUILDKIT_SCAN_SOURCE_EXTRAS"); extras != "" {
		entries, err := os.ReadDir(extras)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, e := range entries {
			if e.IsDir() {
				targets = append(targets, filepath.Join(extras, e.Name()))
			}
		}
	}
	for _, target := range targets {
		name := filepath.Base(target)
		doc, err := scan(ctx, target, name, created)
		if err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		out := filepath.Join(dest, name+".spdx.json")
		if err := os.WriteFile(out, doc, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", out, len(doc))
	}
	return nil
}

// creationTime is SOURCE_DATE_EPOCH when given, else now.
func creationTime() (time.Time, error) {
	for _, k := range []string{"BUILDKIT_SCAN_SOURCE_DATE_EPOCH", "SOURCE_DATE_EPOCH"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s=%q is not a number of seconds: %w", k, v, err)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

// scan catalogs the root filesystem at dir as an installed image (so
// binaries, package databases and installed language packages count,
// not lock files), with paths relative to dir, and returns it as an SPDX
// 2.3 JSON document.
func scan(ctx context.Context, dir, name string, created time.Time) ([]byte, error) {
	src, err := directorysource.New(directorysource.Config{
		Path:  dir,
		Base:  dir,
		Alias: source.Alias{Name: name},
	})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	cfg := syft.DefaultCreateSBOMConfig().
		WithTool(toolName, syftVersion()).
		WithCatalogerSelection(cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag))
	s, err := syft.CreateSBOM(ctx, src, cfg)
	if err != nil {
		return nil, err
	}
	doc := spdxhelpers.ToFormatModel(*s)
	if doc == nil {
		return nil, errors.New("syft could not convert the SBOM to SPDX")
	}
	doc.CreationInfo.Created = created.Format(time.RFC3339)
	doc.CreationInfo.Creators = []spdxcommon.Creator{{CreatorType: "Tool", Creator: toolName + "-syft-" + syftVersion()}}
	// The namespace must be unique per document: a hash of everything else
	// in it is, and unlike a random UUID it does not change between runs.
	doc.DocumentNamespace = ""
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	doc.DocumentNamespace = namespaceBase + cleanName(name) + "-" + hex.EncodeToString(sum[:16])
	return json.Marshal(statement{Type: inTotoStatementType, PredicateType: spdxPredicateType, Predicate: doc})
}

// The in-toto statement BuildKit expects in a scanner's output directory.
const (
	inTotoStatementType = "https://in-toto.io/Statement/v0.1"
	spdxPredicateType   = "https://spdx.dev/Document"
)

// statement is an in-toto statement with no subject: BuildKit attaches it
// to the image it scanned.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Predicate     any    `json:"predicate"`
}

// cleanName keeps a target name safe inside a URI path.
func cleanName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, name)
}

// syftVersion is the syft module version this scanner was built with.
func syftVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/anchore/syft" {
				return d.Version
			}
		}
	}
	return "unknown"
}
