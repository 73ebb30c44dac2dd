package llbgraph

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"
)

// proxyEnv returns the proxy settings of the build args (HTTP_PROXY and
// friends, in either case), which every run step gets as BuildKit proxy
// env, outside its cache key, as in the Dockerfile frontend; nil when there
// are none.
func proxyEnv(args map[string]string) *llb.ProxyEnv {
	pe := &llb.ProxyEnv{}
	set := false
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		switch strings.ToLower(k) {
		case "http_proxy":
			pe.HTTPProxy = v
		case "https_proxy":
			pe.HTTPSProxy = v
		case "ftp_proxy":
			pe.FTPProxy = v
		case "no_proxy":
			pe.NoProxy = v
		case "all_proxy":
			pe.AllProxy = v
		default:
			continue
		}
		set = true
	}
	if !set {
		return nil
	}
	return pe
}
