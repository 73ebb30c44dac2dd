package spec

import (
	"os"
	"testing"
)

// BenchmarkValidate measures the validation that every Compile runs again
// on a loaded spec: a walk of the model, with no YAML to parse.
func BenchmarkValidate(b *testing.B) {
	for _, f := range []string{"../../ohlcv.build.yaml", "../../examples/ohlcv-rag/offline.build.yaml"} {
		dt, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		s, err := Load(f, dt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f[len("../../"):], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
