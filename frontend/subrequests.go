package frontend

import (
	"context"

	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// subrequests answers --call=targets and --call=outline; dockerui answers
// --call=subrequests.describe and refuses the rest as unsupported.
func subrequests(s *spec.Spec, bc *dockerui.Client) dockerui.RequestHandler {
	return dockerui.RequestHandler{
		ListTargets: func(context.Context) (*targets.List, error) {
			l := &targets.List{Sources: [][]byte{s.Source}}
			for _, t := range llbgraph.Targets(s) {
				l.Targets = append(l.Targets, targets.Target{
					Name:        t.Name,
					Default:     t.Default,
					Description: t.Description,
					Base:        t.Base,
					Location:    location(t.Range),
				})
			}
			return l, nil
		},
		Outline: func(context.Context) (*outline.Outline, error) {
			opt := compileOpt(bc, nil, nil)
			opt.NamedContext = nil // the outline resolves nothing
			o, err := llbgraph.BuildOutline(s, opt)
			if err != nil {
				return nil, err
			}
			out := &outline.Outline{Name: o.Target, Description: o.Description, Sources: [][]byte{s.Source}}
			for _, a := range o.Args {
				out.Args = append(out.Args, outline.Arg{Name: a.Name, Value: a.Value, Location: location(a.Range)})
			}
			for _, m := range o.Secrets {
				out.Secrets = append(out.Secrets, outline.Secret{Name: m.ID, Required: m.Required, Location: location(m.Range)})
			}
			for _, m := range o.SSH {
				out.SSH = append(out.SSH, outline.SSH{Name: m.ID, Required: m.Required, Location: location(m.Range)})
			}
			return out, nil
		},
	}
}

func location(r spec.Range) *pb.Location {
	return &pb.Location{SourceIndex: 0, Ranges: []*pb.Range{pbRange(r)}}
}
