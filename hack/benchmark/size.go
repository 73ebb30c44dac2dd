package main

import "fmt"

// (e) the compressed size of each frontend image in the registry.
func (b *bench) imageSize() ([]*figure, error) {
	ours, err := imageBytes(b.env["FRONTEND_IMAGE"])
	if err != nil {
		return nil, err
	}
	peer, err := imageBytes(b.env["PEER_FRONTEND_IMAGE"])
	if err != nil {
		return nil, err
	}
	r := float64(ours) / float64(peer)
	return one(&figure{
		id: "e", what: "frontend image size (compressed, as pulled)", compared: "this vs the Dockerfile frontend image, same Go flags",
		ours: mib(ours), peer: mib(peer), ratio: r, target: "≤ 0.6", met: r <= 0.6,
		command: "sum of the layer and config sizes in each image's manifest in the local registry (hack/frontend-image.sh, hack/peer-frontend.sh)",
	}), nil
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
