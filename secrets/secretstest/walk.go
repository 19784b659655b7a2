package secretstest

import (
	"reflect"
	"strconv"
	"strings"
)

// Bounds of the reflection walker, so that no value makes it run long.
const (
	maxWalkDepth = 64
	maxWalkOut   = 1 << 20 // bytes written
)

// walk returns what a reflection-based printer could read of v, in the
// way of a debugger or a dumper that reads unexported fields: every
// string, bool and number, one a line, and the bytes of integer arrays and
// slices. It reads through reflect alone, never calling Interface or a
// method, so unexported fields are read too.
func walk(v any) string {
	w := walker{seen: make(map[visit]bool)}
	w.walk(reflect.ValueOf(v), 0)
	return w.b.String()
}

// visit is a pointer, map or slice already walked, with its type: a value
// and its first field share an address.
type visit struct {
	p   uintptr
	len int
	t   reflect.Type
}

type walker struct {
	b    strings.Builder
	seen map[visit]bool
}

func (w *walker) line(s string) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// once reports whether v, a pointer, map or slice, is met for the first
// time, and marks it seen.
func (w *walker) once(v reflect.Value, n int) bool {
	k := visit{p: v.Pointer(), len: n, t: v.Type()}
	if w.seen[k] {
		return false
	}
	w.seen[k] = true
	return true
}

func (w *walker) walk(v reflect.Value, depth int) {
	if !v.IsValid() || depth > maxWalkDepth || w.b.Len() > maxWalkOut {
		return
	}
	switch v.Kind() {
	case reflect.String:
		w.line(v.String())
	case reflect.Bool:
		w.line(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.line(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.line(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		w.line(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.Complex64, reflect.Complex128:
		w.line(strconv.FormatComplex(v.Complex(), 'g', -1, 128))
	case reflect.Pointer:
		if !v.IsNil() && w.once(v, 0) {
			w.walk(v.Elem(), depth+1)
		}
	case reflect.Interface:
		w.walk(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			w.walk(v.Field(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() || !w.once(v, 0) {
			return
		}
		for it := v.MapRange(); it.Next(); {
			w.walk(it.Key(), depth+1)
			w.walk(it.Value(), depth+1)
		}
	case reflect.Slice:
		if v.IsNil() || !w.once(v, v.Len()) {
			return
		}
		w.elems(v, depth)
	case reflect.Array:
		w.elems(v, depth)
	}
	// Func, Chan and UnsafePointer: reflect cannot see what a function
	// captured, and an unsafe.Pointer has no type to read it by.
}

// elems walks the elements of an array or slice. Integers are written as
// numbers and, so that a key kept as bytes or as words is caught, as the
// bytes they make in a row, big-endian and little-endian.
func (w *walker) elems(v reflect.Value, depth int) {
	size, signed, ok := intKind(v.Type().Elem().Kind())
	if !ok {
		for i := range v.Len() {
			w.walk(v.Index(i), depth+1)
		}
		return
	}
	n := min(v.Len(), maxWalkOut/size)
	words := make([]uint64, n)
	nums := make([]string, n)
	for i := range n {
		if signed {
			words[i] = uint64(v.Index(i).Int())
			nums[i] = strconv.FormatInt(v.Index(i).Int(), 10)
		} else {
			words[i] = v.Index(i).Uint()
			nums[i] = strconv.FormatUint(words[i], 10)
		}
	}
	w.line(strings.Join(nums, " "))
	be := make([]byte, 0, n*size)
	le := make([]byte, 0, n*size)
	for _, x := range words {
		for j := range size {
			be = append(be, byte(x>>(8*(size-1-j))))
			le = append(le, byte(x>>(8*j)))
		}
	}
	w.line(string(be))
	if size > 1 {
		w.line(string(le))
	}
}

// intKind returns the size in bytes of an integer kind and whether it is
// signed; ok is false for every other kind.
func intKind(k reflect.Kind) (size int, signed, ok bool) {
	switch k {
	case reflect.Int8:
		return 1, true, true
	case reflect.Uint8:
		return 1, false, true
	case reflect.Int16:
		return 2, true, true
	case reflect.Uint16:
		return 2, false, true
	case reflect.Int32:
		return 4, true, true
	case reflect.Uint32:
		return 4, false, true
	case reflect.Int64, reflect.Int:
		return 8, true, true
	case reflect.Uint64, reflect.Uint, reflect.Uintptr:
		return 8, false, true
	}
	return 0, false, false
}
