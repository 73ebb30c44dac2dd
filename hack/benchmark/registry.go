package main

import (
	"context"
	"time"

	"github.com/containerd/platforms"

	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

// imageBytes is the compressed size of an image as pulled for linux/amd64:
// its config and layers, read from the registry's manifest.
func imageBytes(ref string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	target, err := registry.New().Resolve(ctx, ref)
	if err != nil {
		return 0, err
	}
	m, err := target.Image(ctx, platforms.MustParse("linux/amd64"))
	if err != nil {
		return 0, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
