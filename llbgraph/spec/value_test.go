package spec

import (
	"reflect"
	"testing"
)

// Every key of every mapping of the spec holds a value type, a pointer to
// one, a mapping, or a list of mappings: what the decoder knows how to
// read. A field of a new type that is none of these fails here, not in the
// decoder's panic on the first spec that sets it.
func TestEveryKeyDecodes(t *testing.T) {
	valueType := reflect.TypeFor[Value]()
	seen := map[reflect.Type]bool{}
	var check func(path string, rt reflect.Type)
	check = func(path string, rt reflect.Type) {
		if seen[rt] {
			return
		}
		seen[rt] = true
		switch {
		case reflect.PointerTo(rt).Implements(valueType):
			if reflect.New(rt).Interface().(Value).ValueSchema() == nil {
				t.Errorf("%s: %s has no schema", path, rt)
			}
		case rt.Kind() == reflect.Pointer, rt.Kind() == reflect.Slice:
			check(path, rt.Elem())
		case rt.Kind() == reflect.Struct:
			keys := Keys(rt)
			if len(keys) == 0 {
				t.Errorf("%s: %s is neither a value type nor a mapping", path, rt)
			}
			for _, k := range keys {
				check(path+"."+k.Name, rt.FieldByIndex(k.index).Type)
			}
		default:
			t.Errorf("%s: %s is neither a value type nor a mapping", path, rt)
		}
	}
	check("spec", reflect.TypeFor[Spec]())
	check("stages.NAME", reflect.TypeFor[Stage]())
	for _, k := range stepKinds {
		check("step "+string(k), reflect.TypeOf(newStep(k)).Elem())
	}
}
