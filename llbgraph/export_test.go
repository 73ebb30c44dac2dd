package llbgraph

// What the external tests (package llbgraph_test, which may import the
// checks: package check imports this one) use of this package's helpers.
var (
	// TestOpt is testOpt: the options of a build of target with stubbed
	// image lookups and contexts.
	TestOpt = testOpt
	// AnyImage resolves every reference to a small Debian-like config.
	AnyImage = anyImage
	// MarshalOpts are the constraints the tests marshal with.
	MarshalOpts = marshalOpts
)
