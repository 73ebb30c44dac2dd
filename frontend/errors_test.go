package frontend

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// A spec error that wraps an error from the gateway (a failed image
// lookup) reaches the client whole, as the gateway sends it: the file,
// line, path and message, the gateway's reason, the status code, and the
// source snippet.
func TestWrappedGatewayErrorKeepsItsMessage(t *testing.T) {
	const src = "version: 1\nstages:\n  app:\n    from: nosuchimage:1.0\n"
	gatewayErr := grpcerrors.FromGRPC(status.Error(codes.NotFound, "docker.io/library/nosuchimage:1.0: not found"))
	specErr := &spec.Error{Filename: "ohlcv.build.yaml", Path: "stages.app.from", Msg: `cannot load image "nosuchimage:1.0"`, Err: gatewayErr,
		Range: spec.Range{Start: spec.Pos{Line: 4, Column: 11}, End: spec.Pos{Line: 4, Column: 26}}}
	sm := llb.NewSourceMap(nil, "ohlcv.build.yaml", "YAML", []byte(src))

	// what the gateway client does with the error Build returns
	sent := grpcerrors.ToGRPC(context.Background(), withWholeMessage(withSpecSource(specErr, sm)))
	st, _ := status.FromError(sent)
	want := `ohlcv.build.yaml:4:11: stages.app.from: cannot load image "nosuchimage:1.0": NotFound: docker.io/library/nosuchimage:1.0: not found`
	if st.Message() != want || st.Code() != codes.NotFound {
		t.Errorf("sent %s: %s\nwant NotFound: %s", st.Code(), st.Message(), want)
	}
	got := grpcerrors.FromGRPC(sent)
	sources := errdefs.Sources(got)
	if len(sources) != 1 || sources[0].Info.Filename != "ohlcv.build.yaml" || sources[0].Ranges[0].Start.Line != 4 {
		t.Errorf("sources %v", sources)
	}
	if !strings.Contains(got.Error(), want) {
		t.Errorf("received %v", got)
	}
}

// An error that is the gateway's own, or holds no gateway error, is sent
// as before.
func TestUnwrappedErrorsAreUnchanged(t *testing.T) {
	gatewayErr := grpcerrors.FromGRPC(status.Error(codes.Unknown, "process did not complete successfully: exit code: 3"))
	if got := withWholeMessage(gatewayErr); got != gatewayErr {
		t.Errorf("a gateway error was wrapped: %v", got)
	}
	specErr := &spec.Error{Filename: "f.yaml", Msg: "no stages"}
	if got := withWholeMessage(specErr); got != error(specErr) {
		t.Errorf("a spec error was wrapped: %v", got)
	}
}
