package rotationhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxBody is the largest request body, in bytes, that [DecodeJSON] and
// [DecodeRegenerate] read: 64 KiB. A larger one is refused with
// [ErrBodyTooLarge].
const MaxBody = 64 << 10

// GraceField is the member of a regenerate request that holds the grace
// window, as [DecodeRegenerate] reads it.
const GraceField = "oldSecretValidForSeconds"

// DecodeJSON decodes the JSON object in r's body into dst, a pointer to a
// struct, and refuses anything but exactly one object with known,
// unrepeated members of the right types. An empty body (or one of white
// space only) is an empty object: dst is left as it is, so set defaults
// first.
//
// Refusals are [*BodyError] values, and on a refusal dst may have been
// partly filled; nothing else is touched. [ProblemFor] maps them to:
//
//   - 413 when the body is larger than [MaxBody];
//   - 400 when it cannot be read;
//   - 422 naming the member for an unknown or repeated member (names that
//     differ only in case count as the same, as encoding/json folds them)
//     or a value of the wrong type, and naming "body" for malformed JSON, a
//     body that is not an object, or data after the object.
//
// A JSON null leaves a member as it is, as in [encoding/json]; to refuse
// null, decode the member into a [json.RawMessage] and check it, as
// [DecodeRegenerate] does. Content-Type is not checked.
//
// Errors never quote the body or a value from it. They name a member as
// dst's type names it when it is one of dst's; otherwise they quote the
// client's name only if it is at most 23 bytes long or has the shape of a
// secret id (sec_ and 26 lower-case letters and digits), and name "body"
// instead of a longer one, which may be a key pasted in the wrong place.
// DecodeJSON panics if dst is not a non-nil pointer.
func DecodeJSON(r *http.Request, dst any) error {
	if v := reflect.ValueOf(dst); v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("rotationhttp: DecodeJSON into %T, want a non-nil pointer", dst))
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := scanObject(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		return nil
	}
	if name, ok := unknownField(err); ok {
		if !mayEcho(name) {
			return invalid("body", "holds a member that is not part of this request")
		}
		return invalid(name, "is not a member of this request")
	}
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return invalid(field, "must be "+jsonKind(typeErr))
	}
	return malformed()
}

// DecodeRegenerate reads the body of a regenerate request,
// {"oldSecretValidForSeconds": n}, and returns the grace window to pass to
// [rotation.Rotator.Regenerate]. An empty body, {}, and a missing member
// mean 0: the old secret stops working at once.
//
// n must be a JSON number with a whole value from 0 to maxGrace in seconds
// (5 and 5.0 are the same). A fraction, a string, null, a negative number,
// one above the bound, any other member, malformed JSON or data after the
// object give a [*BodyError] naming the member (or "body"), which
// [ProblemFor] maps to 422; a body over [MaxBody] gives 413. Pass the
// Rotator's Policy().MaxGracePeriod as maxGrace. It must be positive: a
// bound of zero or less is no default, and gives an [*OptionError] (a
// 500) without reading the body, since the service is misconfigured. A
// bound that is not a whole number of seconds is rounded down.
func DecodeRegenerate(r *http.Request, maxGrace time.Duration) (time.Duration, error) {
	if maxGrace <= 0 {
		return 0, &OptionError{Field: "maxGrace", Reason: "must be positive: pass the Rotator's Policy().MaxGracePeriod"}
	}
	limit := int64(maxGrace / time.Second)
	var req struct {
		Grace json.RawMessage `json:"oldSecretValidForSeconds"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, err
	}
	if len(req.Grace) == 0 {
		return 0, nil
	}
	n, ok := wholeNumber(string(req.Grace))
	if !ok || n < 0 || n > limit {
		return 0, invalid(GraceField, fmt.Sprintf("must be a whole number of seconds from 0 to %d", limit))
	}
	return time.Duration(n) * time.Second, nil
}

// wholeNumber parses a JSON number whose value is a whole number. It
// reports false for anything else, including strings, null and numbers
// too large for an int64.
func wholeNumber(raw string) (int64, bool) {
	if raw == "" || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false // a string, null, true, false, an object or an array
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > MaxBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, tooLarge() // a tighter limit set around the body by the caller
	}
	if err != nil {
		return nil, &BodyError{Field: "body", Reason: "could not be read", Err: ErrUnreadableBody}
	}
	if len(body) > MaxBody {
		return nil, tooLarge()
	}
	return body, nil
}

// tooLargeReason is the Reason of a body larger than [MaxBody].
var tooLargeReason = "must be at most " + strconv.Itoa(MaxBody) + " bytes"

func tooLarge() *BodyError {
	return &BodyError{Field: "body", Reason: tooLargeReason, Err: ErrBodyTooLarge}
}

// scanObject checks that body holds one JSON object and nothing after it,
// and that no member is repeated, which encoding/json would let pass
// keeping the last. Names count as repeated when they fold to the same,
// as encoding/json matches them to dst's members.
func scanObject(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return malformed()
	}
	if tok != json.Delim('{') {
		return invalid("body", "must be a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed()
		}
		name, _ := tok.(string) // a Decoder gives only strings as keys
		folded := foldName(name)
		if seen[folded] {
			return repeated(name, dst)
		}
		seen[folded] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return malformed()
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed()
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "must hold one JSON object and nothing after it")
	}
	return nil
}

// repeated returns the error for a member that appeared twice, named as
// dst's type names it if it is one of dst's members, else as the client
// did if [mayEcho] allows that, else not at all.
func repeated(name string, dst any) *BodyError {
	if own, ok := memberOf(reflect.TypeOf(dst).Elem(), name); ok {
		return invalid(own, "must appear once")
	}
	if mayEcho(name) {
		return invalid(name, "must appear once")
	}
	return invalid("body", "must not repeat a member")
}

// memberOf returns the JSON name of the member of t, a struct type, that
// name folds to, preferring an exact match as encoding/json does, and
// reports whether there is one. Members are t's exported fields, by their
// json tags, and those of embedded structs without a tag; fields tagged
// "-" are not members.
func memberOf(t reflect.Type, name string) (string, bool) {
	if t.Kind() != reflect.Struct {
		return "", false
	}
	folded := foldName(name)
	match := ""
	var walk func(t reflect.Type, depth int) bool
	walk = func(t reflect.Type, depth int) bool {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			tag, _, _ = strings.Cut(tag, ",")
			if f.Anonymous && tag == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && depth < 8 { // depth guards against cycles of embedded pointers
					if walk(ft, depth+1) {
						return true
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			own := f.Name
			if tag != "" {
				own = tag
			}
			if own == name {
				match = own
				return true
			}
			if match == "" && foldName(own) == folded {
				match = own
			}
		}
		return false
	}
	walk(t, 0)
	return match, match != ""
}

// foldName folds a member name as encoding/json does when it matches
// names regardless of case: ASCII letters to upper case, and every other
// rune to the smallest rune that folds to it (so "ſ" and "s" are the same).
func foldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z':
			r -= 'a' - 'A'
		case r >= utf8.RuneSelf:
			r = foldRune(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldRune returns the smallest rune of the fold orbit of r.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func invalid(field, reason string) *BodyError {
	return &BodyError{Field: field, Reason: reason, Err: ErrInvalidBody}
}

func malformed() *BodyError { return invalid("body", "must be well-formed JSON") }

// unknownField returns the member named by DisallowUnknownFields' error,
// which encoding/json gives only as text.
func unknownField(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(rest)
	if err != nil {
		return "", false
	}
	return name, true
}

// jsonKind says, in JSON's words, what a Go type accepts.
func jsonKind(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}
