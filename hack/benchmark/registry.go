package main

import (
	"context"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

// imageBytes is the compressed size of an image as pulled for linux/amd64:
// its config and layers, read from the registry's manifest.
func imageBytes(ref string) (int64, error) {
	host, repo, tag, err := registry.SplitRef(ref)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := registry.New(host).Image(ctx, repo, tag)
	if err != nil {
		return 0, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
