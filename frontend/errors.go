package frontend

import (
	"errors"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// withWholeMessage keeps err's whole message on its way to the client. An
// error that wraps one from the gateway (a failed image lookup, wrapped in
// a spec error that names the file, line and YAML path) would otherwise
// reach buildx and buildctl as the gateway's error alone: the gateway's
// grpcerrors.ToGRPC sends the status found in the chain with its own
// message, and takes the wrapper's text only when the chain holds no error
// that came over gRPC. Giving err a status of its own, with the same code
// and details and err's message, keeps the wrapping; the chain below is
// unchanged, so the source snippets and stacks still travel with it.
func withWholeMessage(err error) error {
	var inner interface {
		error
		GRPCStatus() *status.Status
	}
	if err == nil || !errors.As(err, &inner) || inner.GRPCStatus().Code() == codes.OK || err.Error() == inner.Error() {
		return err
	}
	p := inner.GRPCStatus().Proto()
	p.Message = err.Error()
	return &wholeMessage{error: err, st: status.FromProto(p)}
}

// wholeMessage is an error with the gRPC status it is sent as.
type wholeMessage struct {
	error
	st *status.Status
}

// GRPCStatus returns the status that carries the whole message.
func (e *wholeMessage) GRPCStatus() *status.Status { return e.st }

// Unwrap returns the error.
func (e *wholeMessage) Unwrap() error { return e.error }
