package secrets_test

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// leakySecret is a made-up secret that every redaction test tries to leak.
const leakySecret = "rtr_test_8fQ2xLz0PmVb7KcR4tYw1NdS6hJ9gE3aU5oI2kMnB0vXcZq7"

type exported struct {
	Name string
	Key  secrets.Value
}

// gobbed is shaped like exported, with a Key that gob encodes as a Value
// would if it could.
type gobbed struct {
	Name string
	Key  gobSecret
}

type gobSecret string

func (g gobSecret) GobEncode() ([]byte, error) { return []byte(g), nil }

type pointerField struct {
	Key *secrets.Value
}

type unexported struct {
	name string
	key  secrets.Value
}

func TestValueRedactsInFmt(t *testing.T) {
	v := secrets.NewValue(leakySecret)
	subjects := []struct {
		name string
		x    any
	}{
		{"Value", v},
		{"*Value", &v},
		{"struct", exported{Name: "a", Key: v}},
		{"*struct", &exported{Name: "a", Key: v}},
		{"struct with *Value", pointerField{Key: &v}},
		{"unexported field", unexported{name: "a", key: v}},
		{"[]Value", []secrets.Value{v, v}},
		{"[1]Value", [1]secrets.Value{v}},
		{"map", map[string]secrets.Value{"k": v}},
		{"[]any", []any{v, &v}},
		{"KEK", secrets.KEK{ID: "kek-1", Key: v}},
		{"Digester", secrets.NewDigester(v)},
	}
	verbs := []string{
		"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%#x", "%d", "%b",
		"%o", "%c", "%U", "%e", "%f", "%t", "%p", "%T", "%20s", "%-20v",
		"%.3s", "%8.2q", "%+q", "%#q", "%w",
	}
	for _, sub := range subjects {
		t.Run(sub.name, func(t *testing.T) {
			for _, verb := range verbs {
				secretstest.NoLeak(t, fmt.Sprintf(verb, sub.x), leakySecret)
			}
			secretstest.NoLeak(t, fmt.Sprint(sub.x), leakySecret)
			secretstest.NoLeak(t, fmt.Sprintln(sub.x, sub.x), leakySecret)
			secretstest.NoLeak(t, fmt.Errorf("wrapped: %v", sub.x).Error(), leakySecret)
		})
	}
}

func TestValueFormat(t *testing.T) {
	v := secrets.NewValue(leakySecret)
	tests := []struct {
		format string
		x      any
		want   string
	}{
		{"%v", v, "[REDACTED]"},
		{"%s", v, "[REDACTED]"},
		{"%x", v, "[REDACTED]"},
		{"%d", v, "[REDACTED]"},
		{"%q", v, `"[REDACTED]"`},
		{"%#v", v, "secrets.Value([REDACTED])"},
		{"%v", &v, "[REDACTED]"},
		{"%12s|", v, "  [REDACTED]|"},
		{"%-12s|", v, "[REDACTED]  |"},
		{"%v", exported{Name: "a", Key: v}, "{a [REDACTED]}"},
		{"%+v", exported{Name: "a", Key: v}, "{Name:a Key:[REDACTED]}"},
		{"%#v", exported{Name: "a", Key: v}, `secrets_test.exported{Name:"a", Key:secrets.Value([REDACTED])}`},
		{"%v", []secrets.Value{v, {}}, "[[REDACTED] [REDACTED]]"},
		{"%v", secrets.KEK{ID: "kek-1", Key: v}, `secrets.KEK("kek-1", [REDACTED])`},
		{"%+v", struct{ K secrets.KEK }{secrets.KEK{ID: "kek-1", Key: v}}, `{K:secrets.KEK("kek-1", [REDACTED])}`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			got := fmt.Sprintf(tt.format, tt.x)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Sprintf(%q) mismatch (-want +got):\n%s", tt.format, diff)
			}
		})
	}
}

func TestValueStringers(t *testing.T) {
	is := is.New(t)
	v := secrets.NewValue(leakySecret)
	is.Equal(v.String(), secrets.Redacted)               // String redacts
	is.Equal(v.GoString(), "secrets.Value([REDACTED])")  // GoString redacts
	is.Equal(v.LogValue().String(), secrets.Redacted)    // LogValue redacts
	is.Equal(v.LogValue().Kind(), slog.KindString)       // LogValue is a plain string
	is.Equal(secrets.Value{}.String(), secrets.Redacted) // even the zero Value prints the redaction
	is.Equal(fmt.Sprint(secrets.Value{}), "[REDACTED]")  // and fmt agrees
}

func TestValueRedactsInSlog(t *testing.T) {
	v := secrets.NewValue(leakySecret)
	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	}
	logs := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"key-value", func(l *slog.Logger) { l.Info("issued", "secret", v) }},
		{"pointer", func(l *slog.Logger) { l.Info("issued", "secret", &v) }},
		{"attr", func(l *slog.Logger) { l.Info("issued", slog.Any("secret", v)) }},
		{"group", func(l *slog.Logger) { l.Info("issued", slog.Group("g", slog.Any("secret", v))) }},
		{"with", func(l *slog.Logger) { l.With("secret", v).Info("issued") }},
		{"with group", func(l *slog.Logger) { l.WithGroup("g").Info("issued", "secret", v) }},
		{"struct", func(l *slog.Logger) { l.Info("issued", "rec", exported{Name: "a", Key: v}) }},
		{"slice", func(l *slog.Logger) { l.Info("issued", "all", []secrets.Value{v}) }},
		{"message", func(l *slog.Logger) { l.Info(fmt.Sprint("issued ", v)) }},
	}
	for _, h := range handlers {
		for _, lg := range logs {
			t.Run(h.name+"/"+lg.name, func(t *testing.T) {
				var buf bytes.Buffer
				lg.log(slog.New(h.new(&buf)))
				if buf.Len() == 0 {
					t.Fatal("nothing was logged")
				}
				secretstest.NoLeak(t, buf.String(), leakySecret)
			})
		}
	}
}

func TestValueSlogShowsRedaction(t *testing.T) {
	is := is.New(t)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", slog.Group("g", "secret", secrets.NewValue(leakySecret)))
	is.True(strings.Contains(buf.String(), `"g":{"secret":"[REDACTED]"}`)) // the JSON handler logs the redaction
}

func TestValueDoesNotEncode(t *testing.T) {
	v := secrets.NewValue(leakySecret)
	tests := []struct {
		name   string
		encode func() ([]byte, error)
	}{
		{"json Value", func() ([]byte, error) { return json.Marshal(v) }},
		{"json *Value", func() ([]byte, error) { return json.Marshal(&v) }},
		{"json struct", func() ([]byte, error) { return json.Marshal(exported{Name: "a", Key: v}) }},
		{"json struct with *Value", func() ([]byte, error) { return json.Marshal(pointerField{Key: &v}) }},
		{"json slice", func() ([]byte, error) { return json.Marshal([]secrets.Value{v}) }},
		{"json map", func() ([]byte, error) { return json.Marshal(map[string]secrets.Value{"k": v}) }},
		{"json indent", func() ([]byte, error) { return json.MarshalIndent(exported{Key: v}, "", "  ") }},
		{"json KEK", func() ([]byte, error) { return json.Marshal(secrets.KEK{ID: "kek-1", Key: v}) }},
		{"xml struct", func() ([]byte, error) { return xml.Marshal(exported{Name: "a", Key: v}) }},
		{"MarshalJSON", v.MarshalJSON},
		{"MarshalText", v.MarshalText},
		{"AppendText", func() ([]byte, error) { return v.AppendText(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			out, err := tt.encode()
			is.True(err != nil)                              // encoding a secret must fail
			is.True(errors.Is(err, secrets.ErrNotEncodable)) // and say why with the sentinel
			secretstest.NoLeak(t, string(out), leakySecret)
			secretstest.NoLeak(t, err.Error(), leakySecret)
		})
	}
}

// TestValueDoesNotEncodeAsBinary checks the encoders a Value has no method
// for: they read its fields by reflection, find a function, and fail.
func TestValueDoesNotEncodeAsBinary(t *testing.T) {
	v := secrets.NewValue(leakySecret)
	gobOf := func(x any) func() ([]byte, error) {
		return func() ([]byte, error) {
			var buf bytes.Buffer
			err := gob.NewEncoder(&buf).Encode(x)
			return buf.Bytes(), err
		}
	}
	binaryOf := func(x any) func() ([]byte, error) {
		return func() ([]byte, error) {
			var buf bytes.Buffer
			err := binary.Write(&buf, binary.BigEndian, x)
			return buf.Bytes(), err
		}
	}
	tests := []struct {
		name   string
		encode func() ([]byte, error)
	}{
		{"gob Value", gobOf(v)},
		{"gob *Value", gobOf(&v)},
		{"gob struct", gobOf(exported{Name: "a", Key: v})},
		{"gob struct with *Value", gobOf(pointerField{Key: &v})},
		{"gob slice", gobOf([]secrets.Value{v})},
		{"gob KEK", gobOf(secrets.KEK{ID: "kek-1", Key: v})},
		{"binary Value", binaryOf(v)},
		{"binary *Value", binaryOf(&v)},
		{"binary array", binaryOf([1]secrets.Value{v})},
		{"binary.Append", func() ([]byte, error) { return binary.Append(nil, binary.LittleEndian, v) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			out, err := tt.encode()
			is.True(err != nil) // the encoder fails
			secretstest.NoLeak(t, string(out), leakySecret)
			secretstest.NoLeak(t, err.Error(), leakySecret)
		})
	}
}

func TestValueUnexportedFieldIsLeftOutOfJSON(t *testing.T) {
	is := is.New(t)
	out, err := json.Marshal(unexported{name: "a", key: secrets.NewValue(leakySecret)})
	is.NoErr(err)               // json skips unexported fields
	is.Equal(string(out), "{}") // and so never sees the secret
}

func TestValueDoesNotDecode(t *testing.T) {
	tests := []struct {
		name   string
		decode func(*exported) error
	}{
		{"json string", func(e *exported) error { return json.Unmarshal([]byte(`{"Key":"s3cr3t-s3cr3t"}`), e) }},
		{"json object", func(e *exported) error { return json.Unmarshal([]byte(`{"Key":{"s":"s3cr3t-s3cr3t"}}`), e) }},
		{"json null", func(e *exported) error { return json.Unmarshal([]byte(`{"Key":null}`), e) }},
		{"xml", func(e *exported) error {
			return xml.Unmarshal([]byte(`<exported><Key>s3cr3t-s3cr3t</Key></exported>`), e)
		}},
		{"UnmarshalJSON", func(e *exported) error { return e.Key.UnmarshalJSON([]byte(`"s3cr3t-s3cr3t"`)) }},
		{"UnmarshalText", func(e *exported) error { return e.Key.UnmarshalText([]byte("s3cr3t-s3cr3t")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var e exported
			err := tt.decode(&e)
			if tt.name == "json null" {
				// encoding/json gives null to no Unmarshaler; it leaves the field as is.
				is.NoErr(err)           // null decodes to nothing
				is.True(e.Key.IsZero()) // and leaves the Value empty
				return
			}
			is.True(errors.Is(err, secrets.ErrNotEncodable))         // a Value is never decoded from a payload
			is.True(e.Key.IsZero())                                  // and the target is left empty
			is.True(!strings.Contains(err.Error(), "s3cr3t-s3cr3t")) // the error does not quote the input
		})
	}
}

// TestValueDoesNotDecodeFromBinary feeds gob and encoding/binary what a
// Value would be on the wire, were it encodable: they fail, and the Value
// stays empty.
func TestValueDoesNotDecodeFromBinary(t *testing.T) {
	tests := []struct {
		name   string
		decode func(*exported) error
	}{
		{"gob", func(e *exported) error {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(gobbed{Name: "a", Key: "s3cr3t-s3cr3t"}); err != nil {
				return fmt.Errorf("encoding the input: %v", err)
			}
			return gob.NewDecoder(&buf).Decode(e)
		}},
		{"gob of a string", func(e *exported) error {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode("s3cr3t-s3cr3t"); err != nil {
				return fmt.Errorf("encoding the input: %v", err)
			}
			return gob.NewDecoder(&buf).Decode(&e.Key)
		}},
		{"binary", func(e *exported) error {
			return binary.Read(strings.NewReader("s3cr3t-s3cr3t-s3cr3t"), binary.BigEndian, &e.Key)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var e exported
			err := tt.decode(&e)
			is.True(err != nil)                                      // the decoder fails
			is.True(e.Key.IsZero())                                  // and the Value is left empty
			is.True(!strings.Contains(err.Error(), "s3cr3t-s3cr3t")) // the error does not quote the input
		})
	}
}

func TestValueBasics(t *testing.T) {
	is := is.New(t)
	v := secrets.NewValue("abc")
	is.Equal(v.Reveal(), "abc")                          // Reveal gives back what NewValue took
	is.Equal(v.Len(), 3)                                 // Len counts bytes
	is.True(!v.IsZero())                                 // a non-empty Value is not zero
	is.True(secrets.Value{}.IsZero())                    // the zero Value is zero
	is.True(secrets.NewValue("").IsZero())               // so is an empty one
	is.Equal(secrets.Value{}.Reveal(), "")               // and it reveals the empty string
	is.Equal(secrets.Value{}.Len(), 0)                   // of length 0
	is.True(secrets.NewValue("").Equal(secrets.Value{})) // empty and zero are the same secret
}

func TestValueEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same", "sk_live_abc", "sk_live_abc", true},
		{"both empty", "", "", true},
		{"last byte differs", "sk_live_abc", "sk_live_abd", false},
		{"first byte differs", "sk_live_abc", "tk_live_abc", false},
		{"prefix of the other", "sk_live_ab", "sk_live_abc", false},
		{"one empty", "", "x", false},
		{"case", "ABC", "abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			a, b := secrets.NewValue(tt.a), secrets.NewValue(tt.b)
			is.Equal(a.Equal(b), tt.want) // Equal compares contents
			is.Equal(b.Equal(a), tt.want) // symmetrically
		})
	}
}

func TestValueEqualIsNotIdentity(t *testing.T) {
	is := is.New(t)
	a, b := secrets.NewValue("same"), secrets.NewValue("same")
	is.True(a.Equal(b))                               // two Values with one secret are Equal
	is.True(cmp.Equal(a, b))                          // and go-cmp uses Equal
	is.True(!cmp.Equal(a, secrets.NewValue("other"))) // and tells different secrets apart
}

func TestValueIsNotComparable(t *testing.T) {
	is := is.New(t)
	is.True(!reflect.TypeFor[secrets.Value]().Comparable()) // == on Values does not compile: it could only compare identity
}

func TestValueAllocations(t *testing.T) {
	is := is.New(t)
	v := secrets.NewValue(sampleKey)
	is.Equal(testing.AllocsPerRun(100, func() { sinkString = v.Reveal() }), 0.0)                 // Reveal allocates nothing
	is.Equal(testing.AllocsPerRun(100, func() { sinkValue = secrets.NewValue(sampleKey) }), 1.0) // NewValue allocates once
}

func TestValueHint(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "abc", ""},
		{"seven", "abcdefg", ""},
		{"eight", "abcdefgh", "efgh"},
		{"key", "sk_live_0123456789abcdefWXYZ", "WXYZ"},
		{"multi-byte", "secret-ключ", "ключ"},
		{"multi-byte short", "ключ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(secrets.NewValue(tt.in).Hint(), tt.want) // Hint shows the last 4 characters of long values only
		})
	}
}

func TestValueInTemplate(t *testing.T) {
	is := is.New(t)
	tmpl := template.Must(template.New("t").Parse("{{.Name}}={{.Key}} {{printf \"%x\" .Key}}"))
	var buf bytes.Buffer
	is.NoErr(tmpl.Execute(&buf, exported{Name: "a", Key: secrets.NewValue(leakySecret)})) // templates print Values
	is.Equal(buf.String(), "a=[REDACTED] [REDACTED]")                                     // redacted
}

// sprintf is fmt.Sprintf with a format that is not a constant, so vet
// does not check the verb against the argument.
func sprintf(format string, x any) string { return fmt.Sprintf(format, x) }

// Sinks keep the compiler from optimizing benchmarked calls away.
var (
	sinkValue  secrets.Value
	sinkString string
)

// BenchmarkNewValue measures making a Value that escapes to the heap, as
// every Value a program keeps does.
func BenchmarkNewValue(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkValue = secrets.NewValue(sampleKey)
	}
}

func BenchmarkReveal(b *testing.B) {
	v := secrets.NewValue(sampleKey)
	b.ReportAllocs()
	for b.Loop() {
		sinkString = v.Reveal()
	}
}
