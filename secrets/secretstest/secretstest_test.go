package secretstest_test

import (
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// recorder is a testing.TB that notes a failure instead of stopping.
type recorder struct {
	testing.TB
	failed bool
	msg    string // the failure's message
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}
func (r *recorder) Helper() {}

func TestNoLeak(t *testing.T) {
	const secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc0000aa"
	tests := []struct {
		name string
		out  string
		leak bool
	}{
		{"clean", "key sec_123 (…0aa) created", false},
		{"itself", "key=" + secret, true},
		{"its last 10 characters", "hint 0aa but more: p7dc0000aa", true},
		{"hex", "bytes " + hex.EncodeToString([]byte(secret)), true},
		{"a byte dump, cut short", fmt.Sprint([]byte(secret))[:30], true},
		{"a line cut short", "key=" + secret[:30] + "…", true},
		{"a piece from the middle", "id " + secret[5:35], true},
		{"a piece just too short to count", "id " + secret[5:28], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := &recorder{TB: t}
			secretstest.NoLeak(r, tt.out, secret)
			is.Equal(r.failed, tt.leak) // a leak in any shape is caught, and only a leak
			if r.failed {
				is.True(!strings.Contains(r.msg, secret[5:20])) // and the failure does not repeat it
			}
		})
	}
}

func TestFormsOfShortSecrets(t *testing.T) {
	is := is.New(t)
	is.True(len(secretstest.Forms("ab")) > 0) // short secrets do not panic
	r := &recorder{TB: t}
	secretstest.NoLeak(r, "anything", "")
	is.True(!r.failed) // an empty secret matches nothing
}

func TestKeyring(t *testing.T) {
	is := is.New(t)
	a, b := secretstest.Keyring(t), secretstest.Keyring(t)
	v := secrets.NewValue("whsec_aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=")
	sealed, err := a.Seal("sec_1", v)
	is.NoErr(err) // the keyring seals
	opened, err := a.Open("sec_1", sealed)
	is.NoErr(err)                         // and opens what it sealed
	is.Equal(opened.Reveal(), v.Reveal()) // to the same value
	_, err = b.Open("sec_1", sealed)
	is.True(errors.Is(err, secrets.ErrTampered)) // another test's keyring has another key
}

// plaintext is the secret that the leaky types below hold.
const plaintext = "sk_test_Z8rQ1wLx5NcV0bKm3PyT7sHd2gJf9aE4uW6oRiYq"

// redactor prints [REDACTED] with every fmt verb.
type redactor struct{}

func (redactor) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[REDACTED]") }

// hiding holds its secret where reflection cannot read it: in a function.
type hiding struct{ f func() string }

func newHiding() hiding { return hiding{f: func() string { return plaintext }} }

// safe is what a secret type should be: hidden and redacted everywhere.
type safe struct {
	hiding
	redactor
}

func (safe) LogValue() slog.Value           { return slog.StringValue("[REDACTED]") }
func (safe) MarshalJSON() ([]byte, error)   { return nil, errors.New("not encodable") }
func (safe) MarshalText() ([]byte, error)   { return nil, errors.New("not encodable") }
func (safe) MarshalBinary() ([]byte, error) { return nil, errors.New("not encodable") }

// stringer hides its secret but prints it.
type stringer struct{ hiding }

func (s stringer) String() string { return s.f() }

// logger hides its secret and redacts it in fmt, but logs it.
type logger struct{ safe }

func (l logger) LogValue() slog.Value { return slog.StringValue(l.f()) }

// jsoner hides its secret, redacts it in fmt and slog, but encodes it to
// JSON.
type jsoner struct{ safe }

func (j jsoner) MarshalJSON() ([]byte, error) { return json.Marshal(j.f()) }

// xmler encodes its secret to XML only.
type xmler struct{ safe }

func (x xmler) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(x.f(), start)
}

// gobber encodes its secret with gob only.
type gobber struct{ safe }

func (g gobber) GobEncode() ([]byte, error) { return []byte(g.f()), nil }

// fixed is a redacted fixed-size value: encoding/binary writes its bytes.
type fixed struct {
	redactor
	Key [len(plaintext)]byte
}

// fielded keeps its secret in a plain unexported field behind a Format
// method: fmt of it is safe, fmt of a struct that holds it is not.
type fielded struct {
	redactor
	key string
}

// stringRedacted keeps its secret in a plain field and redacts it with a
// String method, as the zero value does too: go-cmp, seeing two equal
// strings, reports the fields instead.
type stringRedacted struct{ key string }

func (stringRedacted) String() string { return "[REDACTED]" }

// deep keeps its secret two pointers down, where fmt prints addresses, and
// compares and prints itself, so go-cmp uses its Equal and String; only a
// walker that reads unexported fields finds it.
type deep struct {
	redactor
	p **string
}

func newDeep() deep {
	s := plaintext
	p := &s
	return deep{p: &p}
}

func (d deep) Equal(o deep) bool { return (d.p == nil) == (o.p == nil) }
func (d deep) String() string {
	if d.p == nil {
		return "none"
	}
	return "[REDACTED]"
}
func (deep) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// words keeps its secret as big-endian 32-bit words, as hash states do.
type words struct {
	redactor
	w []uint32
}

func newWords() words {
	var w words
	for b := []byte(plaintext); len(b) >= 4; b = b[4:] {
		w.w = append(w.w, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
	}
	return w
}

// leakingPrinters returns the names of the printers in out, an output of
// Outputs, whose output holds a form of secret.
func leakingPrinters(out, secret string) []string {
	forms := secretstest.Forms(secret)
	var names []string
	for _, sec := range strings.Split("\n"+out, "\n== ")[1:] {
		name, text, _ := strings.Cut(sec, "\n")
		if slices.ContainsFunc(forms, func(f string) bool { return strings.Contains(text, f) }) {
			names = append(names, name)
		}
	}
	return names
}

func TestOutputsCatchesEveryPrinter(t *testing.T) {
	tests := []struct {
		name    string
		v       any
		printer string // what a leaking printer's name starts with
		only    bool   // no other printer leaks
	}{
		{"String", stringer{newHiding()}, "fmt %v of v", false},
		{"plain exported field", struct{ Key string }{plaintext}, "encoding/json of v", false},
		{"unexported field behind Format", fielded{key: plaintext}, "fmt %v of hidden{v}", false},
		{"LogValue", logger{safe{hiding: newHiding()}}, "slog", true},
		{"MarshalJSON", jsoner{safe{hiding: newHiding()}}, "encoding/json", false},
		{"MarshalXML", xmler{safe{hiding: newHiding()}}, "encoding/xml", true},
		{"GobEncode", gobber{safe{hiding: newHiding()}}, "encoding/gob", true},
		{"fixed size", fixed{Key: [len(plaintext)]byte([]byte(plaintext))}, "encoding/binary", false},
		{"String redacted", stringRedacted{key: plaintext}, "cmp.Diff of v", false},
		{"two pointers deep", newDeep(), "reflection walker", true},
		{"words", newWords(), "reflection walker", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			out := secretstest.Outputs(tt.v)
			leaks := leakingPrinters(out, plaintext)
			is.True(slices.ContainsFunc(leaks, func(n string) bool { return strings.HasPrefix(n, tt.printer) })) // the printer shows the secret
			if tt.only {
				for _, n := range leaks {
					is.True(strings.HasPrefix(n, tt.printer)) // and no other printer does
				}
			}
			r := &recorder{TB: t}
			secretstest.NoLeak(r, out, plaintext)
			is.True(r.failed)                                  // so NoLeak fails
			is.True(strings.Contains(r.msg, leaks[0]+": "))    // naming the first printer that leaks
			is.True(!strings.Contains(r.msg, plaintext[9:33])) // without repeating the secret
		})
	}
}

func TestOutputsOfSafeValues(t *testing.T) {
	s := safe{hiding: newHiding()}
	for name, v := range map[string]any{
		"safe":        s,
		"*safe":       &s,
		"struct":      struct{ S safe }{s},
		"unexported":  struct{ s safe }{s},
		"nil":         nil,
		"nil pointer": (*safe)(nil),
	} {
		t.Run(name, func(t *testing.T) {
			secretstest.NoLeak(t, secretstest.Outputs(v), plaintext) // a secret behind a function and redacting methods is in no output
		})
	}
}

// cyclic points at itself, through a pointer and a map. (A cycle through
// slices alone would send fmt itself into endless recursion.)
type cyclic struct {
	next *cyclic
	m    map[string]*cyclic
}

func TestOutputsEndsOnCycles(t *testing.T) {
	is := is.New(t)
	c := &cyclic{m: map[string]*cyclic{}}
	c.next = c
	c.m["self"] = c
	out := secretstest.Outputs(c)
	is.True(strings.Contains(out, "\n== reflection walker\nself\n")) // Outputs returns, walker and all
}

func TestOutputsCatchesPanics(t *testing.T) {
	is := is.New(t)
	out := secretstest.Outputs(panicker{})
	is.True(strings.Contains(out, "panic: "+plaintext[:12])) // a panic is output too, caught
}

// panicker panics when encoded to JSON, with a message holding a secret.
type panicker struct{ redactor }

func (panicker) MarshalJSON() ([]byte, error) { panic(plaintext[:12]) }

// TestLogs checks that Logs keeps every line of concurrent writers whole:
// each goroutine writes to it directly, as handlers of a logger that
// takes no lock of its own do.
func TestLogs(t *testing.T) {
	var logs secretstest.Logs
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				fmt.Fprintf(&logs, "writer=%d n=%02d\n", i, j)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("got %d lines, want 400", len(lines))
	}
	line := regexp.MustCompile(`^writer=\d n=\d\d$`)
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Fatalf("a line was torn: %q", l)
		}
	}
}
