//go:build reliability

package reliability

import (
	"context"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
)

// imageFiles unpacks the single image of the OCI tar at path and returns
// its files; a missing or multi-image tar fails the figure.
func imageFiles(t *testing.T, fig *figure, path string) map[string]*ocilayout.File {
	t.Helper()
	l, img := singleImage(t, fig, path)
	dir := t.TempDir()
	if err := l.Unpack(context.Background(), img, dir); err != nil {
		fig.fatalf(t, "unpacking %s: %v", path, err)
	}
	files, err := ocilayout.Files(dir)
	if err != nil {
		fig.fatalf(t, "reading %s: %v", path, err)
	}
	return files
}

// singleImage opens the OCI tar at path, which must hold one image, until
// the test ends.
func singleImage(t *testing.T, fig *figure, path string) (*ocilayout.Layout, *ocilayout.Image) {
	t.Helper()
	l, err := ocilayout.Open(path)
	if err != nil {
		fig.fatalf(t, "%s: %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	imgs, err := l.Images(context.Background())
	if err != nil {
		fig.fatalf(t, "%s: %v", path, err)
	}
	if len(imgs) != 1 {
		fig.fatalf(t, "%s holds %d images, want one", path, len(imgs))
	}
	return l, imgs[0]
}
