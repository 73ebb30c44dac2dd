package llbgraph

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"
)

// IsProxyArg reports whether a build arg is one of the proxy settings
// (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY, in either case)
// that reach every run step without a declaration.
func IsProxyArg(name string) bool {
	return proxyField(&llb.ProxyEnv{}, name) != nil
}

// proxyField returns the field of pe that the proxy arg name sets, or nil.
func proxyField(pe *llb.ProxyEnv, name string) *string {
	switch strings.ToLower(name) {
	case "http_proxy":
		return &pe.HTTPProxy
	case "https_proxy":
		return &pe.HTTPSProxy
	case "ftp_proxy":
		return &pe.FTPProxy
	case "no_proxy":
		return &pe.NoProxy
	case "all_proxy":
		return &pe.AllProxy
	}
	return nil
}

// proxyEnv returns the proxy settings of the build args, which every run
// step gets as BuildKit proxy env, outside its cache key, as in the
// Dockerfile frontend; nil when there are none.
func proxyEnv(args map[string]string) *llb.ProxyEnv {
	pe := &llb.ProxyEnv{}
	set := false
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if f := proxyField(pe, k); f != nil {
			*f = args[k]
			set = true
		}
	}
	if !set {
		return nil
	}
	return pe
}
