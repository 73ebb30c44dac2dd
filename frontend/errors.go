package frontend

import (
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// withSpecSource attaches the spec's source to every positioned spec error
// in err, so buildx shows the file, the line and a snippet of it.
func withSpecSource(err error, sm *llb.SourceMap) error {
	if err == nil || sm == nil {
		return err
	}
	info := &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language}
	if sm.Definition != nil {
		info.Definition = sm.Definition.ToPB()
	}
	for _, e := range spec.Errors(err) {
		if e.Range.Start.Line == 0 {
			continue
		}
		err = errdefs.WithSource(err, &errdefs.Source{Info: info, Ranges: []*pb.Range{llbgraph.PBRange(e.Range)}})
	}
	return err
}
