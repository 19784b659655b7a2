package rotationhttp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// createRequest is a request body with members at every depth: in an
// object, in the items of an array, in the values of a map, behind a
// pointer, and members DecodeJSON does not look into.
type createRequest struct {
	APIToken token            `json:"api_token"`
	Items    []item           `json:"items"`
	Labels   map[string]label `json:"labels"`
	Next     *token           `json:"next"`
	Extra    any              `json:"extra"` // any JSON at all
	Raw      json.RawMessage  `json:"raw"`   // kept as sent
	Level    level            `json:"level"` // decodes itself
}

type token struct {
	Name      string            `json:"name"`
	RateLimit int               `json:"rate_limit"`
	Scopes    []string          `json:"scopes"`
	Metadata  map[string]string `json:"metadata"`
	ExpiresAt *time.Time        `json:"expires_at"`
}

type item struct {
	ID int `json:"id"`
}

type label struct {
	Colour string `json:"colour"`
}

// level is a json.Unmarshaler that takes any JSON value as it is.
type level struct{ raw string }

func (l *level) UnmarshalJSON(b []byte) error {
	l.raw = string(b)
	return nil
}

func TestDecodeJSON(t *testing.T) {
	long := strings.Repeat("x", 24)  // one byte past what may be repeated
	bound := strings.Repeat("x", 23) // as long as may be repeated
	const (
		unknown  = "is not a member of this request"
		repeated = "must appear once"
		holds    = "holds a member that is not part of this request"
		repeats  = "must not repeat a member"
	)
	expires := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	defaults := func() createRequest { return createRequest{APIToken: token{Name: "default"}} }
	with := func(edit func(*createRequest)) createRequest {
		c := defaults()
		edit(&c)
		return c
	}
	tests := []struct {
		name    string
		body    string
		want    createRequest
		wantErr *rotationhttp.BodyError
	}{
		{name: "empty body keeps defaults", body: "", want: defaults()},
		{name: "white space keeps defaults", body: " \r\n\t", want: defaults()},
		{name: "empty object keeps defaults", body: "{}", want: defaults()},
		{name: "every member", body: `{"api_token": {"name": "ci", "rate_limit": 60, "scopes": ["a"], "metadata": {"k": "v"}, "expires_at": "2026-12-01T00:00:00Z"},
			"items": [{"id": 1}, {"id": 2}], "labels": {"red": {"colour": "#f00"}}, "next": {"name": "n"}}`,
			want: createRequest{
				APIToken: token{Name: "ci", RateLimit: 60, Scopes: []string{"a"}, Metadata: map[string]string{"k": "v"}, ExpiresAt: &expires},
				Items:    []item{{1}, {2}}, Labels: map[string]label{"red": {"#f00"}}, Next: &token{Name: "n"},
			}},
		{name: "null keeps a member as it is", body: `{"api_token": {"name": null}}`, want: defaults()},
		{name: "null keeps an object as it is", body: `{"api_token": null}`, want: defaults()},
		{name: "an interface is not looked into", body: `{"extra": {"a": 1, "a": 2, "Anything": [true]}}`,
			want: with(func(c *createRequest) { c.Extra = map[string]any{"a": 2.0, "Anything": []any{true}} })},
		{name: "a RawMessage is not looked into", body: `{"raw": {"a": 1, "a": 2}}`,
			want: with(func(c *createRequest) { c.Raw = json.RawMessage(`{"a": 1, "a": 2}`) })},
		{name: "an Unmarshaler is not looked into", body: `{"level": {"x": 1, "x": 2, "X": 3}}`,
			want: with(func(c *createRequest) { c.Level = level{raw: `{"x": 1, "x": 2, "X": 3}`} })},
		{name: "a map takes any member", body: `{"api_token": {"metadata": {"Name": "a", "name": "b"}}}`,
			want: with(func(c *createRequest) { c.APIToken.Metadata = map[string]string{"Name": "a", "name": "b"} })},

		// Unknown members, named by their path.
		{name: "unknown member", body: `{"name": "ci"}`, wantErr: invalidField("name", unknown)},
		{name: "unknown nested member", body: `{"api_token": {"name": "ci", "colour": "red"}}`, wantErr: invalidField("api_token.colour", unknown)},
		{name: "unknown member of an item", body: `{"items": [{"id": 1}, {"id": 2}, {"id": 3, "name": "x"}]}`, wantErr: invalidField("items[2].name", unknown)},
		{name: "unknown member of a map's value", body: `{"labels": {"red": {"shade": "dark"}}}`, wantErr: invalidField(`labels["red"].shade`, unknown)},
		{name: "unknown member behind a pointer", body: `{"next": {"colour": "red"}}`, wantErr: invalidField("next.colour", unknown)},

		// Exact names, although encoding/json alone folds case.
		{name: "a member in another case", body: `{"api_token": {"Name": "ci"}}`, wantErr: invalidField("api_token.Name", unknown)},
		{name: "an object in another case", body: `{"API_TOKEN": {}}`, wantErr: invalidField("API_TOKEN", unknown)},
		{name: "a member spelled with a long s", body: `{"api_token": {"ſcopes": ["a"]}}`, wantErr: invalidField("api_token.ſcopes", unknown)},
		{name: "a member repeated in another case", body: `{"api_token": {"name": "a", "NAME": "b"}}`, wantErr: invalidField("api_token.NAME", unknown)},

		// Repeated members, which encoding/json alone takes, keeping the last.
		{name: "repeated member", body: `{"api_token": {}, "api_token": {}}`, wantErr: invalidField("api_token", repeated)},
		{name: "repeated nested member", body: `{"api_token": {"name": "a", "name": "b"}}`, wantErr: invalidField("api_token.name", repeated)},
		{name: "repeated member of an item", body: `{"items": [{"id": 1}, {"id": 2, "id": 3}]}`, wantErr: invalidField("items[1].id", repeated)},
		{name: "repeated key of a map", body: `{"labels": {"red": {}, "red": {}}}`, wantErr: invalidField(`labels["red"]`, repeated)},
		{name: "repeated key of a nested map", body: `{"api_token": {"metadata": {"k": "a", "k": "b"}}}`, wantErr: invalidField(`api_token.metadata["k"]`, repeated)},

		// Values of the wrong type, named by their path.
		{name: "number for a string", body: `{"api_token": {"name": 5}}`, wantErr: invalidField("api_token.name", "must be a string")},
		{name: "string for an int", body: `{"api_token": {"rate_limit": "60"}}`, wantErr: invalidField("api_token.rate_limit", "must be a whole number in range")},
		{name: "fraction for an int", body: `{"api_token": {"rate_limit": 1.5}}`, wantErr: invalidField("api_token.rate_limit", "must be a whole number in range")},
		{name: "string for an object", body: `{"api_token": "ci"}`, wantErr: invalidField("api_token", "must be an object")},
		{name: "object for an array", body: `{"items": {}}`, wantErr: invalidField("items", "must be an array")},
		{name: "array for a map", body: `{"labels": []}`, wantErr: invalidField("labels", "must be an object")},
		{name: "wrong type in an item", body: `{"items": [{"id": 1}, {"id": 2}, {"id": "3"}]}`, wantErr: invalidField("items[2].id", "must be a whole number in range")},
		{name: "wrong type in an array", body: `{"api_token": {"scopes": ["a", 1]}}`, wantErr: invalidField("api_token.scopes[1]", "must be a string")},
		{name: "wrong type in a map's value", body: `{"labels": {"red": {"colour": 5}}}`, wantErr: invalidField(`labels["red"].colour`, "must be a string")},
		{name: "wrong type in a map", body: `{"api_token": {"metadata": {"k": 5}}}`, wantErr: invalidField(`api_token.metadata["k"]`, "must be a string")},

		// The body as a whole.
		{name: "two objects", body: `{}{}`, wantErr: invalidField("body", "must hold one JSON object and nothing after it")},
		{name: "two objects apart", body: "{} \n {}", wantErr: invalidField("body", "must hold one JSON object and nothing after it")},
		{name: "trailing bracket", body: `{"api_token": {}}]`, wantErr: invalidField("body", "must hold one JSON object and nothing after it")},
		{name: "trailing text", body: `{} x`, wantErr: invalidField("body", "must hold one JSON object and nothing after it")},
		{name: "an array", body: `[{"api_token": {}}]`, wantErr: invalidField("body", "must be a JSON object")},
		{name: "a string", body: `"ci"`, wantErr: invalidField("body", "must be a JSON object")},
		{name: "a number", body: `42`, wantErr: invalidField("body", "must be a JSON object")},
		{name: "a boolean", body: `true`, wantErr: invalidField("body", "must be a JSON object")},
		{name: "null", body: `null`, wantErr: invalidField("body", "must be a JSON object")},
		{name: "malformed", body: `{"api_token": {},}`, wantErr: invalidField("body", "must be well-formed JSON")},
		{name: "unterminated", body: `{"api_token": {`, wantErr: invalidField("body", "must be well-formed JSON")},
		{name: "form encoded", body: `name=ci`, wantErr: invalidField("body", "must be well-formed JSON")},

		// What is repeated of a member's name.
		{name: "long unknown member", body: `{"` + long + `": 1}`, wantErr: invalidField("body", holds)},
		{name: "long unknown nested member", body: `{"api_token": {"` + long + `": 1}}`, wantErr: invalidField("api_token", holds)},
		{name: "long unknown member of an item", body: `{"items": [{"` + long + `": 1}]}`, wantErr: invalidField("items[0]", holds)},
		{name: "long repeated member", body: `{"` + long + `": 1, "` + long + `": 1}`, wantErr: invalidField("body", repeats)},
		{name: "long repeated nested member", body: `{"api_token": {"` + long + `": 1, "` + long + `": 1}}`, wantErr: invalidField("api_token", repeats)},
		{name: "long repeated key of a map", body: `{"labels": {"` + long + `": {}, "` + long + `": {}}}`, wantErr: invalidField("labels", repeats)},
		{name: "unknown member at the length bound", body: `{"` + bound + `": 1}`, wantErr: invalidField(bound, unknown)},
		{name: "repeated member at the length bound", body: `{"api_token": {"` + bound + `": 1, "` + bound + `": 1}}`, wantErr: invalidField("api_token."+bound, repeated)},
		{name: "unknown secret id", body: `{"sec_nosuchsecretnosuchsecretxx": 1}`, wantErr: invalidField("sec_nosuchsecretnosuchsecretxx", unknown)},
		{name: "repeated secret id", body: `{"labels": {"sec_nosuchsecretnosuchsecretxx": {}, "sec_nosuchsecretnosuchsecretxx": {}}}`,
			wantErr: invalidField(`labels["sec_nosuchsecretnosuchsecretxx"]`, repeated)},
		{name: "long member almost a secret id", body: `{"sec_nosuchsecretnosuchsecret01": 1}`, wantErr: invalidField("body", holds)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := defaults()
			err := rotationhttp.DecodeJSON(post(tt.body), &got)
			if tt.wantErr == nil {
				is.NoErr(err) // accepted
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(level{})); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			bodyErr, ok := errors.AsType[*rotationhttp.BodyError](err)
			is.True(ok) // a typed error
			if diff := cmp.Diff(*tt.wantErr, *bodyErr, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			is.True(errors.Is(err, rotation.ErrValidation)) // a validation error
			fl := rotationhttp.FailureFor(err)
			is.Equal(fl.Status, http.StatusUnprocessableEntity) // answered 422
			if diff := cmp.Diff([]rotationhttp.FieldError{{Field: tt.wantErr.Field, Detail: tt.wantErr.Reason}}, fl.Fields); diff != "" {
				t.Errorf("failure fields (-want +got):\n%s", diff) // naming the member
			}
		})
	}
}

// TestDecodeJSONUnmarshalerError checks that a member whose type decodes
// itself, and refuses the value, is named like a member of the wrong
// type, not taken for malformed JSON.
func TestDecodeJSONUnmarshalerError(t *testing.T) {
	is := is.New(t)
	var got createRequest
	err := rotationhttp.DecodeJSON(post(`{"api_token": {"expires_at": "next tuesday"}}`), &got)
	bodyErr, ok := errors.AsType[*rotationhttp.BodyError](err)
	is.True(ok)                                           // a typed error
	is.True(errors.Is(err, rotationhttp.ErrInvalidBody))  // an invalid body
	is.Equal(bodyErr.Field, "api_token.expires_at")       // that names the member, as a client needs to fix it
	is.True(bodyErr.Reason != "must be well-formed JSON") // the JSON is well formed
	is.True(!strings.Contains(err.Error(), "tuesday"))    // and the value is not repeated
}

// Embedded structs, as encoding/json reads them.
type (
	Base struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	Extra struct {
		Note string `json:"note"`
	}
	named struct { // unexported, but its fields are promoted
		Name string `json:"name"`
	}
	Inner struct {
		Depth int `json:"depth"`
	}
	embedding struct {
		Base
		*Extra
		named
		Inner  `json:"inner"` // a tag makes it a member
		Kind   int            `json:"kind"` // shadows Base.Kind
		Plain  string         // no tag: named as the field is
		Dash   string         `json:"-,"` // the member "-"
		Hidden string         `json:"-"`
		secret string
	}
)

func TestDecodeJSONEmbedded(t *testing.T) {
	const unknown = "is not a member of this request"
	tests := []struct {
		name    string
		body    string
		want    embedding
		wantErr *rotationhttp.BodyError
	}{
		{name: "promoted members", body: `{"id": "a", "note": "n", "name": "x", "inner": {"depth": 2}, "kind": 7, "Plain": "p"}`,
			want: embedding{Base: Base{ID: "a"}, Extra: &Extra{Note: "n"}, named: named{Name: "x"}, Inner: Inner{Depth: 2}, Kind: 7, Plain: "p"}},
		{name: "the shallower member wins", body: `{"kind": "text"}`, wantErr: invalidField("kind", "must be a whole number in range")},
		{name: "the member of a dash", body: `{"-": "d"}`, want: embedding{Dash: "d"}},
		{name: "an embedded struct is no member", body: `{"Base": {"id": "a"}}`, wantErr: invalidField("Base", unknown)},
		{name: "a tagged one is, and only by its tag", body: `{"depth": 2}`, wantErr: invalidField("depth", unknown)},
		{name: "inside a tagged one", body: `{"inner": {"id": "a"}}`, wantErr: invalidField("inner.id", unknown)},
		{name: "a field tagged out", body: `{"Hidden": "h"}`, wantErr: invalidField("Hidden", unknown)},
		{name: "an unexported field", body: `{"secret": "s"}`, wantErr: invalidField("secret", unknown)},
		{name: "an untagged field by another spelling", body: `{"plain": "p"}`, wantErr: invalidField("plain", unknown)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var got embedding
			err := rotationhttp.DecodeJSON(post(tt.body), &got)
			if tt.wantErr == nil {
				is.NoErr(err) // accepted
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(embedding{}, named{})); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			bodyErr, ok := errors.AsType[*rotationhttp.BodyError](err)
			is.True(ok) // a typed error
			if diff := cmp.Diff(*tt.wantErr, *bodyErr, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeJSONNoEcho puts a key wherever a client might paste one, and
// looks for any form of it in the error and in the problem that answers
// it: a member's name is repeated only when it cannot be a key, and a
// value never is.
func TestDecodeJSONNoEcho(t *testing.T) {
	key := unknownKey(t)
	for _, tt := range []struct {
		name, body string
	}{
		{"as a member", `{"` + key + `": 1}`},
		{"as a nested member", `{"api_token": {"` + key + `": 1}}`},
		{"as a member of an item", `{"items": [{"id": 1}, {"` + key + `": 1}]}`},
		{"as a member repeated", `{"api_token": {"` + key + `": 1, "` + key + `": 1}}`},
		{"as a map's key, repeated", `{"labels": {"` + key + `": {}, "` + key + `": {}}}`},
		{"as a map's key, with an unknown member", `{"labels": {"` + key + `": {"shade": 1}}}`},
		{"as a map's key, with a value of the wrong type", `{"api_token": {"metadata": {"` + key + `": 5}}}`},
		{"as a map's key, within an item", `{"labels": {"` + key + `": {"colour": ["` + key + `"]}}}`},
		{"as a piece of a name", `{"api_token": {"` + key[:24] + `": 1}}`},
		{"as a value of the wrong type", `{"api_token": {"rate_limit": "` + key + `"}}`},
		{"as a value of an unknown member", `{"api_token": {"colour": "` + key + `"}}`},
		{"as a value after the object", `{} "` + key + `"`},
		{"as the body", key},
		{"as a value of malformed JSON", `{"api_token": {"name": "` + key + `",}}`},
		{"as a value an Unmarshaler refuses", `{"api_token": {"expires_at": "` + key + `"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got createRequest
			err := rotationhttp.DecodeJSON(post(tt.body), &got)
			if err == nil {
				t.Fatal("accepted")
			}
			w := httptest.NewRecorder()
			rotationhttp.WriteError(w, post(tt.body), err)
			secretstest.NoLeak(t, err.Error(), key) // not in the error
			secretstest.NoLeak(t, wire(w), key)     // nor in the answer
		})
	}
}

// TestDecodeJSONMaxBody checks the bound on the body, whose length is
// known or not.
func TestDecodeJSONMaxBody(t *testing.T) {
	body := func(n int) string {
		return `{"api_token": {"name": "` + strings.Repeat("x", n-len(`{"api_token": {"name": ""}}`)) + `"}}`
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want error
	}{
		{"exactly the limit", func() *http.Request { return post(body(rotationhttp.MaxBody)) }, nil},
		{"a byte over", func() *http.Request { return post(body(rotationhttp.MaxBody + 1)) }, rotationhttp.ErrBodyTooLarge},
		{"a byte over, length unknown", func() *http.Request {
			r := post(body(rotationhttp.MaxBody + 1))
			r.ContentLength = -1
			return r
		}, rotationhttp.ErrBodyTooLarge},
		{"too large by Content-Length", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader("{}")))
			r.ContentLength = rotationhttp.MaxBody + 1
			return r
		}, rotationhttp.ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var got createRequest
			err := rotationhttp.DecodeJSON(tt.req(), &got)
			if tt.want == nil {
				is.NoErr(err) // accepted
				return
			}
			is.True(errors.Is(err, tt.want))                                                       // refused as too large
			is.True(!errors.Is(err, rotation.ErrValidation))                                       // not as invalid
			is.Equal(rotationhttp.FailureFor(err).Status, http.StatusRequestEntityTooLarge)        // answered 413
			is.Equal(rotationhttp.FailureFor(err).Message, "the body must be at most 65536 bytes") // saying the bound
		})
	}
}

func TestDecodeJSONPanics(t *testing.T) {
	var v struct{ Name string }
	var nilPointer *struct{ Name string }
	m := map[string]any{}
	for _, tt := range []struct {
		name string
		dst  any
	}{
		{"a struct", v},
		{"a nil pointer", nilPointer},
		{"a pointer to a map", &m},
		{"nil", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			defer func() {
				is.True(recover() != nil) // a programmer error panics
			}()
			_ = rotationhttp.DecodeJSON(post(`{}`), tt.dst)
		})
	}
}

// FuzzDecodeJSON checks, for any body, that DecodeJSON refuses with a
// *BodyError that repeats no long text of the body, or accepts what
// encoding/json with DisallowUnknownFields accepts too, with the same
// result.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		"", "{}", `{"api_token": {"name": "ci", "rate_limit": 60, "scopes": ["a"], "metadata": {"k": "v"}}}`,
		`{"items": [{"id": 1}, {"id": 2, "id": 3}]}`, `{"labels": {"red": {"colour": "#f00"}}}`, `{"extra": {"a": [1]}}`,
		`{"api_token": {"Name": "x"}}`, `{"a":1,"a":2}`, `[`, `null`, `{} {}`, `{"next": null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got createRequest
		err := rotationhttp.DecodeJSON(post(body), &got)
		if err != nil {
			bodyErr, ok := errors.AsType[*rotationhttp.BodyError](err)
			if !ok {
				t.Fatalf("untyped error %v", err)
			}
			for _, piece := range strings.FieldsFunc(bodyErr.Field, func(r rune) bool { return strings.ContainsRune(`.[]"\`, r) }) {
				if len(piece) > 23 && strings.Contains(body, piece) && !strings.HasPrefix(piece, "sec_") {
					t.Fatalf("field %q repeats %q of the body", bodyErr.Field, piece)
				}
			}
			return
		}
		if strings.TrimSpace(body) == "" {
			return
		}
		var want createRequest
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("DecodeJSON accepted what encoding/json refuses: %v", err)
		}
		if !reflect.DeepEqual(want, got) { // cmp.Diff only on failure: it is slow for a fuzzer
			t.Fatalf("decoded (-encoding/json +DecodeJSON):\n%s", cmp.Diff(want, got, cmp.AllowUnexported(level{})))
		}
	})
}
