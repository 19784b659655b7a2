package secrets

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted is what every printed or logged [Value] shows in place of its
// contents.
const Redacted = "[REDACTED]"

// goString is what %#v and [Value.GoString] show.
const goString = "secrets.Value(" + Redacted + ")"

// Value is secret material: a key, a webhook signing secret, a pepper or a
// key-encryption key. Every way Go has to print, log or encode a Value shows
// [Redacted] or fails; the one way to the plaintext is [Value.Reveal].
//
// A Value keeps its plaintext inside a function, where reflection cannot
// reach it: fmt printing a struct that holds a Value in an unexported
// field, go-cmp reporting a difference, a dumper that walks unexported
// fields, gob and encoding/binary all find a function and no secret.
//
// The zero Value is empty. A Value is immutable and safe for concurrent
// use; copies share the plaintext. Values are not comparable: == on two
// Values, or on structs that hold one, does not compile, and
// reflect.DeepEqual reports any two non-empty Values unequal, even a Value
// and itself. Compare them with [Value.Equal], which go-cmp uses too.
type Value struct {
	// reveal returns the plaintext; nil for the zero Value. A closure,
	// because reflection can see that a function is there but not what it
	// captured.
	reveal func() string
}

// NewValue returns a Value holding s. It allocates once, for the closure
// that holds s.
func NewValue(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{reveal: func() string { return s }}
}

// Reveal returns the plaintext of v. It is the only way to it: grep for
// Reveal to find every place a secret leaves this package's protection, and
// keep what it returns out of logs, errors and payloads. It does not
// allocate.
func (v Value) Reveal() string {
	if v.reveal == nil {
		return ""
	}
	return v.reveal()
}

// IsZero reports whether v is empty.
func (v Value) IsZero() bool { return v.Len() == 0 }

// Len returns the length of v in bytes.
func (v Value) Len() int { return len(v.Reveal()) }

// Equal reports whether v and o hold the same secret. It takes time that
// depends on their lengths, never on their contents.
func (v Value) Equal(o Value) bool {
	// ConstantTimeCompare returns at once when the lengths differ, so the
	// length is all a timing observer can learn; key lengths are public.
	return subtle.ConstantTimeCompare([]byte(v.Reveal()), []byte(o.Reveal())) == 1
}

// Hint returns the last 4 characters of v, for display next to a secret's
// name ("…a1b2"). It returns "" when v is shorter than 8 characters, since
// the last 4 would then be too large a share of the secret.
func (v Value) Hint() string {
	s := v.Reveal()
	if utf8.RuneCountInString(s) < 8 {
		return ""
	}
	i := len(s)
	for range 4 {
		_, n := utf8.DecodeLastRuneInString(s[:i])
		i -= n
	}
	return s[i:]
}

// String returns [Redacted].
func (v Value) String() string { return Redacted }

// GoString returns "secrets.Value([REDACTED])", what %#v prints.
func (v Value) GoString() string { return goString }

// Format prints v for package fmt: [Redacted] for every verb, quoted for %q
// and as [Value.GoString] for %#v. Width and the '-' flag pad as usual;
// precision is ignored. No verb ever prints the secret or its bytes.
func (v Value) Format(f fmt.State, verb rune) { format(f, verb, Redacted, goString) }

// format prints s for every verb but %q, which quotes it, and %#v, which
// prints gs, padded to the width f asks for. The types of this package that
// hold secret material print with it, so that no verb reaches their
// fields.
func format(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		s = gs
	case verb == 'q':
		s = strconv.Quote(s)
	}
	if w, ok := f.Width(); ok && w > utf8.RuneCountInString(s) {
		pad := strings.Repeat(" ", w-utf8.RuneCountInString(s))
		if f.Flag('-') {
			s += pad
		} else {
			s = pad + s
		}
	}
	_, _ = io.WriteString(f, s)
}

// LogValue returns [Redacted] as a string, so [log/slog] handlers never see
// the secret.
func (v Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

var errNotDecodable = fmt.Errorf("%w or decoded", ErrNotEncodable)

// MarshalJSON fails with [ErrNotEncodable]: a secret never lands in a JSON
// payload by accident. Put v.Reveal() in the payload where one must.
func (v Value) MarshalJSON() ([]byte, error) { return nil, ErrNotEncodable }

// MarshalText fails with [ErrNotEncodable], so that encoders that write
// text, such as encoding/xml, refuse a Value too.
func (v Value) MarshalText() ([]byte, error) { return nil, ErrNotEncodable }

// AppendText fails with [ErrNotEncodable].
func (v Value) AppendText(b []byte) ([]byte, error) { return b, ErrNotEncodable }

// UnmarshalJSON fails with an error matching [ErrNotEncodable] and leaves v
// unchanged: a Value is never decoded from a payload. Decode a string and
// call [NewValue]. As encoding/json asks of Unmarshalers, a JSON null is
// accepted and does nothing, since it carries no secret.
func (v *Value) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	return errNotDecodable
}

// UnmarshalText fails with an error matching [ErrNotEncodable] and leaves v
// unchanged.
func (v *Value) UnmarshalText([]byte) error { return errNotDecodable }
