package secretstest

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// verbs are the fmt verbs, with flags, width and precision, that Outputs
// prints a value with: every verb fmt knows, and some it does not, since a
// verb a type does not expect makes fmt print its contents its own way.
var verbs = []string{
	"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%#x", "% X", "%d",
	"%b", "%o", "%O", "%c", "%U", "%e", "%f", "%g", "%t", "%p", "%T", "%w",
	"%z", "%20s", "%-20v", "%.3s", "%8.2q", "%+q", "%#q", "%+x",
}

// header starts every line of Outputs that names the printer whose output
// follows it.
const header = "== "

// holder holds a value in an exported field, where fmt, log/slog and the
// encoders find it by reflection and then call its methods.
type holder struct {
	V any
}

// hidden holds a value in an unexported field, where fmt and log/slog
// cannot call its methods and print what reflection finds instead.
type hidden struct {
	v any
}

// Outputs returns, joined, everything a program could print of v, so that
// one [NoLeak] call checks every printer:
//
//   - fmt with every verb (and some fmt does not know), of v, of a pointer
//     to a copy of v, of v in an exported and in an unexported field of a
//     struct, each by value and by pointer, and of v in a []any and a map;
//   - log/slog's text and JSON handlers, logging v as an attribute, in a
//     group, through Logger.With, and in an exported and an unexported
//     field;
//   - encoding/json, encoding/xml, encoding/gob and encoding/binary, of v,
//     of a pointer to it and of v in an exported field: what each writes,
//     and its error if it fails;
//   - go-cmp's report of cmp.Diff between v and the zero value of its
//     type, directly, by pointer and as fields of structs, with every
//     unexported field allowed, as cmp.AllowUnexported would;
//   - what a reflection walker reads, as a dumper or a debugger could: it
//     follows pointers, interfaces, maps, slices, arrays and struct
//     fields, exported or not, and writes every string, bool and number
//     it meets, and the bytes of each array or slice of integers (in both
//     byte orders), without calling a method. It cannot see into functions
//     or behind unsafe pointers, and stops at cycles, at a depth of 64 and
//     after 1 MiB.
//
// Each output follows a line that starts with "== " and names its printer,
// so that NoLeak can say which one leaked. A panic in any printer is
// caught and output as its message. For a nil v, Outputs holds what the
// printers that take nil print.
func Outputs(v any) string {
	var b strings.Builder
	out := func(name string, print func() string) {
		b.WriteString(header)
		b.WriteString(name)
		b.WriteByte('\n')
		b.WriteString(catch(print))
		b.WriteByte('\n')
	}

	ptr := pointerTo(v)
	subjects := []struct {
		name string
		x    any
	}{
		{"v", v},
		{"&v", ptr},
		{"holder{v}", holder{V: v}},
		{"&holder{v}", &holder{V: v}},
		{"holder{&v}", holder{V: ptr}},
		{"hidden{v}", hidden{v: v}},
		{"&hidden{v}", &hidden{v: v}},
		{"hidden{&v}", hidden{v: ptr}},
		{"[]any{v}", []any{v, ptr}},
		{"map[string]any{v}", map[string]any{"k": v}},
	}
	for _, s := range subjects {
		for _, verb := range verbs {
			out("fmt "+strings.TrimSpace(verb)+" of "+s.name, func() string { return fmt.Sprintf(verb, s.x) })
		}
	}

	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		out("slog "+h.name, func() string {
			var buf bytes.Buffer
			l := slog.New(h.new(&buf))
			l.Info("m", "v", v)
			l.Info("m", "v", ptr)
			l.Info("m", slog.Group("g", slog.Any("v", v)))
			l.With("v", v).Info("m")
			l.WithGroup("g").Info("m", "v", v)
			l.Info("m", "holder", holder{V: v})
			l.Info("m", "hidden", hidden{v: v})
			l.Info("m", "all", []any{v})
			return buf.String()
		})
	}

	encoders := []struct {
		name   string
		encode func(any) ([]byte, error)
	}{
		{"encoding/json", json.Marshal},
		{"encoding/xml", xml.Marshal},
		{"encoding/gob", func(x any) ([]byte, error) {
			var buf bytes.Buffer
			err := gob.NewEncoder(&buf).Encode(x)
			return buf.Bytes(), err
		}},
		{"encoding/binary", func(x any) ([]byte, error) {
			var buf bytes.Buffer
			err := binary.Write(&buf, binary.LittleEndian, x)
			return buf.Bytes(), err
		}},
	}
	for _, e := range encoders {
		for _, s := range subjects[:5] {
			out(e.name+" of "+s.name, func() string {
				b, err := e.encode(s.x)
				if err != nil {
					// What an encoder wrote before failing may reach a
					// payload all the same.
					return string(b) + "\nerror: " + err.Error()
				}
				return string(b)
			})
		}
	}

	if v != nil {
		zero := reflect.Zero(reflect.TypeOf(v)).Interface()
		zptr := pointerTo(zero)
		for _, d := range []struct {
			name string
			x, y any
		}{
			{"v", v, zero},
			{"&v", ptr, zptr},
			{"v, nil", ptr, reflect.Zero(reflect.TypeOf(ptr)).Interface()},
			{"holder{v}", holder{V: v}, holder{V: zero}},
			{"hidden{v}", hidden{v: v}, hidden{v: zero}},
			{"hidden{&v}", &hidden{v: ptr}, &hidden{v: zptr}},
		} {
			out("cmp.Diff of "+d.name+" and zero", func() string { return cmp.Diff(d.x, d.y, allowAll) })
		}
	}

	out("reflection walker", func() string { return walk(v) })
	return b.String()
}

// allowAll lets go-cmp read every unexported field, as a test that uses
// cmp.AllowUnexported or cmp.Exporter on a type holding a secret would.
var allowAll = cmp.Exporter(func(reflect.Type) bool { return true })

// pointerTo returns a pointer to a copy of v, so that methods with pointer
// receivers apply; nil for nil.
func pointerTo(v any) any {
	if v == nil {
		return nil
	}
	p := reflect.New(reflect.TypeOf(v))
	p.Elem().Set(reflect.ValueOf(v))
	return p.Interface()
}

// catch returns what print returns, or the message of its panic.
func catch(print func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprint("panic: ", r)
		}
	}()
	return print()
}
