package frontend

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/entitlements"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// grant is what a refused entitlement needs, by a fragment of BuildKit's
// refusal (solver/llbsolver's ValidateEntitlements, which names neither the
// step nor the remedy): which steps ask for it, and how the user grants it.
type grant struct {
	refusal string
	asks    func(*spec.RunOptions) (key string, r spec.Range, ok bool)
	remedy  string
}

var grants = []grant{{
	refusal: fmt.Sprintf("%s is not allowed", entitlements.EntitlementSecurityInsecure),
	asks: func(o *spec.RunOptions) (string, spec.Range, bool) {
		return "security", o.Security.Range, o.Security.Value == spec.SecurityInsecure
	},
	remedy: "security: insecure needs the security.insecure entitlement: grant it with --allow security.insecure " +
		"(docker buildx build, buildctl build) and start buildkitd with --allow-insecure-entitlement security.insecure " +
		"(or insecure-entitlements in buildkitd.toml)",
}, {
	refusal: "requested by the build but not allowed",
	asks: func(o *spec.RunOptions) (string, spec.Range, bool) {
		if len(o.Devices) == 0 {
			return "", spec.Range{}, false
		}
		return "devices", o.Devices[0].Node.Range, true
	},
	remedy: "devices: need the device entitlement: grant it with --allow device (or --allow device=NAME) " +
		"(docker buildx build, buildctl build) and start buildkitd with --allow-insecure-entitlement device " +
		"(or insecure-entitlements in buildkitd.toml)",
}}

// asksEntitlement reports whether a step of stages (the target's) asks for
// an entitlement. Such a target is solved with Evaluate, so that BuildKit's
// refusal, which comes when the LLB is loaded, reaches the frontend to be
// explained rather than after it returned.
func asksEntitlement(s *spec.Spec, stages []string) bool {
	for _, g := range grants {
		if firstAsking(g, s, stages) != nil {
			return true
		}
	}
	return false
}

// explainEntitlement turns BuildKit's refusal of an entitlement that the
// build was not granted into an error at the first step of stages that asks
// for it, saying how to grant it; other errors are returned as they are.
func explainEntitlement(err error, s *spec.Spec, stages []string) error {
	if err == nil {
		return nil
	}
	for _, g := range grants {
		if !strings.Contains(err.Error(), g.refusal) {
			continue
		}
		if e := firstAsking(g, s, stages); e != nil {
			e.Err = err
			return e
		}
	}
	return err
}

// firstAsking returns an error with g's remedy at the first step of stages
// that asks for g's entitlement, or nil.
func firstAsking(g grant, s *spec.Spec, stages []string) *spec.Error {
	for _, st := range s.Stages {
		if !slices.Contains(stages, st.Name) {
			continue
		}
		var found *spec.Error
		spec.WalkSteps(st.Steps, func(step spec.Step) {
			r, ok := step.(spec.RunLike)
			if !ok || found != nil {
				return
			}
			if key, at, ok := g.asks(r.Options()); ok {
				n := step.StepNode()
				found = &spec.Error{Filename: s.Filename, Path: n.Field(key), Range: at.Or(n.Range), Msg: g.remedy}
			}
		})
		if found != nil {
			return found
		}
	}
	return nil
}
