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
	"sync"
	"time"
)

// MaxBody is the largest request body, in bytes, that [DecodeJSON] and
// [DecodeRegenerate] read: 64 KiB. A larger one is refused with
// [ErrBodyTooLarge].
const MaxBody = 64 << 10

// GraceField is the member of a regenerate request that holds the grace
// window, as [DecodeRegenerate] reads it.
const GraceField = "oldSecretValidForSeconds"

// DecodeJSON decodes the JSON object in r's body into dst, a pointer to a
// struct, with encoding/json, after a strict check of the body's shape
// against dst's type: exactly one JSON object; every member, at every
// depth, one the type has, by its exact JSON name, and none repeated. An
// empty body (or one of white space only) is an empty object: dst is left
// as it is, so set defaults first.
//
// Refusals are [*BodyError] values, and on a refusal dst may have been
// partly filled; nothing else is touched. [FailureFor] maps them to:
//
//   - 413 when the body is larger than [MaxBody];
//   - 400 when it cannot be read;
//   - 422 naming the member by its path, such as "api_token.colour" or
//     "items[2].name", for an unknown or repeated member or a value of
//     the wrong type, and naming "body" for malformed JSON, a body that is
//     not an object, or data after the object.
//
// Names must match exactly, although encoding/json alone would take
// "Name" for "name": a member under another spelling is unknown. A JSON
// null leaves a member as it is, as in encoding/json; to refuse null,
// decode the member into a [json.RawMessage] and check it, as
// [DecodeRegenerate] does. The inside of a member whose type is an
// interface, a json.RawMessage or a json.Unmarshaler is the type's own
// business, and not checked. Content-Type is not checked.
//
// Errors never quote the body or a value from it. A member a client
// named is repeated only if its name is at most 23 bytes long or has the
// shape of a secret id (sec_ and 26 lower-case letters and digits);
// otherwise the error names the object that holds it, which a key
// pasted in the wrong place would be. DecodeJSON panics if dst is not a
// non-nil pointer to a struct.
func DecodeJSON(r *http.Request, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("rotationhttp: DecodeJSON into %T, want a non-nil pointer to a struct", dst))
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var whole json.RawMessage
	if err := dec.Decode(&whole); err != nil {
		return malformed()
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "must hold one JSON object and nothing after it")
	}
	if whole[0] != '{' {
		return invalid("body", "must be a JSON object")
	}
	if err := checkShape(whole, v.Type().Elem(), ""); err != nil {
		return err
	}
	if err := json.Unmarshal(whole, dst); err != nil {
		// checkShape decoded every value alone, so this is one that fits
		// alone and not in place; say no more than what is wrong.
		return invalid("body", "is not valid")
	}
	return nil
}

// unmarshaler is the type of json.Unmarshaler, whose values decode
// themselves.
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// checkShape checks that raw, well-formed JSON at path, fits t: an object
// has only members that t has, by their exact names, none twice; every
// value decodes into its member's type. It names what does not fit by
// its path, which encoding/json, alone, gives without indices or map
// keys.
func checkShape(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if string(raw) == "null" {
		return nil // encoding/json leaves the member as it is
	}
	if t.Kind() == reflect.Interface {
		return nil
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		// The type's own business. Its error may quote the value, so only
		// this package's own (which never do) say more than "not valid".
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return bodyErrorAt(path, err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		members, err := object(raw, path, t)
		if err != nil {
			return err
		}
		fields := jsonFields(t)
		for _, m := range members {
			ft, ok := fields[m.name]
			if !ok {
				if !mayEcho(m.name) {
					return invalid(orBody(path), "holds a member that is not part of this request")
				}
				return invalid(join(path, m.name), "is not a member of this request")
			}
			if err := checkShape(m.value, ft, join(path, m.name)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		members, err := object(raw, path, t)
		if err != nil {
			return err
		}
		for _, m := range members {
			if !mayEcho(m.name) {
				// A key that might be a key: say only that the map holds
				// something wrong.
				if checkShape(m.value, t.Elem(), "") != nil {
					return invalid(orBody(path), "holds a value that is not valid")
				}
				continue
			}
			if err := checkShape(m.value, t.Elem(), path+"["+strconv.Quote(m.name)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if raw[0] != '[' || t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			break // []byte takes a base64 string: a leaf
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return malformed()
		}
		for i, item := range items {
			if err := checkShape(item, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	}
	// A leaf, or a container given as something else: decode it alone to
	// learn whether it fits, and name it by its path if not.
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return invalid(orBody(path), "must be "+jsonKind(typeErr))
	}
	if err != nil {
		return invalid(orBody(path), "is not valid")
	}
	return nil
}

// member is one member of a JSON object, as written.
type member struct {
	name  string
	value json.RawMessage
}

// object returns the members of raw, the object at path of a value of
// type t, in order, and refuses it if it is not an object or names a
// member twice, which encoding/json would take, keeping the last. A
// repeated member t has is named; another only if [mayEcho] allows it.
func object(raw json.RawMessage, path string, t reflect.Type) ([]member, error) {
	if raw[0] != '{' {
		err := json.Unmarshal(raw, reflect.New(t).Interface())
		if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, invalid(orBody(path), "must be "+jsonKind(typeErr))
		}
		return nil, invalid(orBody(path), "must be an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	_, _ = dec.Token() // the '{'
	var members []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed()
		}
		name, _ := tok.(string) // a Decoder gives only strings as keys
		if seen[name] {
			_, own := jsonFields(t)[name]
			switch {
			case t.Kind() == reflect.Map && mayEcho(name):
				return nil, invalid(path+"["+strconv.Quote(name)+"]", "must appear once")
			case t.Kind() == reflect.Struct && (own || mayEcho(name)):
				return nil, invalid(join(path, name), "must appear once")
			}
			return nil, invalid(orBody(path), "must not repeat a member")
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, malformed()
		}
		members = append(members, member{name, value})
	}
	return members, nil
}

// fieldCache holds the members of the struct types jsonFields has seen.
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields returns the members of t as encoding/json names them, with
// their types: exported fields by their json tags (a field tagged "-" is
// none; one tagged "-," is named "-"), and those of embedded structs
// without a tag. It returns nil for a type that is not a struct.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := make(map[string]reflect.Type)
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || len(f.Index) > 1 && !promoted(t, f.Index) {
			continue
		}
		full := f.Tag.Get("json")
		if full == "-" {
			continue
		}
		tag, _, _ := strings.Cut(full, ",")
		switch {
		case f.Anonymous && tag == "" && deref(f.Type).Kind() == reflect.Struct:
			continue // its own fields are among VisibleFields
		case tag == "":
			tag = f.Name
		}
		if _, taken := fields[tag]; !taken {
			fields[tag] = f.Type
		}
	}
	fieldCache.Store(t, fields)
	return fields
}

// promoted reports whether the field of t at index is reached through
// embedded structs that encoding/json looks into: embedded without a
// json tag.
func promoted(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := deref(t).Field(i)
		if !f.Anonymous || f.Tag.Get("json") != "" {
			return false
		}
		t = f.Type
	}
	return true
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// join names the member name of the object at path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// orBody returns path, or "body" for the body itself.
func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
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
// [FailureFor] maps to 422; a body over [MaxBody] gives 413. Pass the
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

func invalid(field, reason string) *BodyError {
	return &BodyError{Field: field, Reason: reason, Err: ErrInvalidBody}
}

func malformed() *BodyError { return invalid("body", "must be well-formed JSON") }

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
