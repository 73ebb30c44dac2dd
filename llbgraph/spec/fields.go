package spec

import (
	"reflect"
	"strings"
	"sync"
)

// Key is one key of a mapping of the spec (a stage, a step, a mount, ...):
// a yaml-tagged field of its struct, the fields of embedded structs
// included. [Keys] is the one reading of the yaml tags: the decoder reads
// mappings with it, the validator asks which keys a mount sets, and the
// schema generator marks the keys that take an empty string.
type Key struct {
	// Name is the YAML key.
	Name string
	// Empty reports that an empty string is a value of the key, as its
	// tag says (`yaml:"description,empty"`); elsewhere an empty string is
	// refused, since leaving the key out says the same.
	Empty bool

	index []int // the field's index path in the struct
}

// fieldTable is the keys of a struct type of the spec.
type fieldTable struct {
	list    []Key
	byKey   map[string]*Key
	keys    []string // the keys, in order, for messages
	nodeIdx []int    // the struct's own Node field, or nil
}

var (
	fieldCache sync.Map // reflect.Type -> *fieldTable
	nodeType   = reflect.TypeFor[Node]()
)

// Keys returns the keys of a struct type of the spec, in the order the
// struct declares them; nil for a type that is no mapping.
func Keys(t reflect.Type) []Key {
	if t.Kind() != reflect.Struct {
		return nil
	}
	return fieldsOf(t).list
}

// fieldsOf returns the table of struct type t, made once.
func fieldsOf(t reflect.Type) *fieldTable {
	if ft, ok := fieldCache.Load(t); ok {
		return ft.(*fieldTable)
	}
	ft := &fieldTable{byKey: map[string]*Key{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int{}, prefix...), i)
			switch {
			case f.Type == nodeType:
				if ft.nodeIdx == nil { // the first, as Files' in Copy and Add
					ft.nodeIdx = idx
				}
				continue
			case f.Anonymous && f.Type.Kind() == reflect.Struct:
				walk(f.Type, idx)
				continue
			}
			key, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			ft.list = append(ft.list, Key{Name: key, Empty: opts == "empty", index: idx})
			ft.keys = append(ft.keys, key)
		}
	}
	walk(t, nil)
	for i := range ft.list {
		ft.byKey[ft.list[i].Name] = &ft.list[i]
	}
	fieldCache.Store(t, ft)
	return ft
}

// fieldSet reports whether the field of *v with YAML key key is set (not
// its zero value), and where it is written.
func fieldSet(v any, key string) (bool, Range) {
	rv := reflect.ValueOf(v).Elem()
	f, ok := fieldsOf(rv.Type()).byKey[key]
	if !ok {
		return false, Range{}
	}
	fv := rv.FieldByIndex(f.index)
	if fv.IsZero() {
		return false, Range{}
	}
	if fv.Kind() == reflect.Pointer {
		fv = fv.Elem()
	}
	if r := fv.FieldByName("Range"); r.IsValid() {
		return true, r.Interface().(Range)
	}
	return true, Range{}
}
