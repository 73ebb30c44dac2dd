// Command frontend is the ohlcv.build.yaml BuildKit frontend. Run by
// BuildKit (the image's entrypoint), it serves the gateway API; `frontend
// build ...` runs the same frontend in-process against BUILDKIT_HOST, with
// no image to push, for a fast development loop; `frontend check` runs the
// build checks with no daemon, `frontend schema` prints the spec's JSON
// Schema, `frontend graph` draws its stages and `frontend convert` turns a
// Dockerfile into a spec.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/appcontext"

	"github.com/ohlcv-rag/ohlcv-build/frontend"
)

// usage lists the subcommands, for a person who runs the binary by hand.
const usage = `usage: frontend COMMAND [ARGS]

  check    run the build checks on a spec, with no daemon (docs/checks.md)
  graph    print the stages of a spec as a graph (docs/graph.md)
  convert  turn a Dockerfile into an equivalent spec (docs/convert.md)
  schema   print the spec's JSON Schema (docs/editors.md)
  build    build a spec with this frontend in-process, against BUILDKIT_HOST
  version  print the version
  test-file  the step of a spec's file test (run by the build, not by people)

With no command, under BuildKit, it serves the gateway API: name it on the
first line of a spec, # syntax=ghcr.io/ohlcv-rag/ohlcv-build:1.
`

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "-version" || os.Args[1] == "--version"):
		printVersion(os.Stdout)
	case len(os.Args) > 1 && (os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help"):
		fmt.Print(usage)
	case len(os.Args) > 1 && os.Args[1] == "build":
		err = runBuild(appcontext.Context(), os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "check":
		os.Exit(runCheck(os.Args[2:], os.Stdout, os.Stderr))
	case len(os.Args) > 1 && os.Args[1] == "schema":
		err = runSchema(os.Stdout, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "graph":
		err = runGraph(os.Stdout, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "convert":
		err = runConvert(os.Stdout, os.Stderr, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "test-file":
		err = runTestFile(appcontext.Context(), os.Args[2:])
	case len(os.Args) > 1:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	case os.Getenv("BUILDKIT_SESSION_ID") == "":
		// BuildKit's gateway always sets it; a person at a terminal does not.
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	default:
		err = grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build)
	}
	if err != nil {
		for _, s := range errdefs.Sources(err) {
			s.Print(os.Stderr) // the spec's lines, as buildctl shows them
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
