package rotationhttp_test

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

func post(body string) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/v1/integrator/regenerate-secret", strings.NewReader(body))
}

func TestDecodeRegenerate(t *testing.T) {
	const field = "oldSecretValidForSeconds"
	const reason = "must be a whole number of seconds from 0 to 3600"
	tests := []struct {
		name    string
		body    string
		max     time.Duration // zero: rotation.DefaultMaxGracePeriod
		want    time.Duration
		wantErr *rotationhttp.BodyError
		value   string // in a refused body, which must not come back; empty: none
	}{
		{name: "empty body", body: "", want: 0},
		{name: "white space", body: " \r\n\t", want: 0},
		{name: "empty object", body: "{}", want: 0},
		{name: "zero", body: `{"oldSecretValidForSeconds": 0}`, want: 0},
		{name: "ten minutes", body: `{"oldSecretValidForSeconds": 600}`, want: 10 * time.Minute},
		{name: "the bound", body: `{"oldSecretValidForSeconds":3600}`, want: time.Hour},
		{name: "whole number with a point", body: `{"oldSecretValidForSeconds": 60.0}`, want: time.Minute},
		{name: "exponent", body: `{"oldSecretValidForSeconds": 1e3}`, want: 1000 * time.Second},
		{name: "negative zero", body: `{"oldSecretValidForSeconds": -0}`, want: 0},
		{name: "trailing white space", body: "{\"oldSecretValidForSeconds\": 5}\n", want: 5 * time.Second},
		{name: "a lower bound from the policy", body: `{"oldSecretValidForSeconds": 600}`, max: 10 * time.Minute, want: 10 * time.Minute},

		{name: "fraction", body: `{"oldSecretValidForSeconds": 1.5}`, wantErr: invalidField(field, reason), value: "1.5"},
		{name: "string", body: `{"oldSecretValidForSeconds": "4321"}`, wantErr: invalidField(field, reason), value: "4321"},
		{name: "negative", body: `{"oldSecretValidForSeconds": -1}`, wantErr: invalidField(field, reason), value: "-1"},
		{name: "above the bound", body: `{"oldSecretValidForSeconds": 3601}`, wantErr: invalidField(field, reason), value: "3601"},
		{name: "above a policy's bound", body: `{"oldSecretValidForSeconds": 601}`, max: 10 * time.Minute, wantErr: invalidField(field, "must be a whole number of seconds from 0 to 600"), value: "601"},
		{name: "huge", body: `{"oldSecretValidForSeconds": 1e400}`, wantErr: invalidField(field, reason), value: "1e400"},
		{name: "larger than int64", body: `{"oldSecretValidForSeconds": 99999999999999999999}`, wantErr: invalidField(field, reason), value: "99999999999999999999"},
		{name: "null", body: `{"oldSecretValidForSeconds": null}`, wantErr: invalidField(field, reason), value: "null"},
		{name: "boolean", body: `{"oldSecretValidForSeconds": true}`, wantErr: invalidField(field, reason), value: "true"},
		{name: "object", body: `{"oldSecretValidForSeconds": {"a": 4321}}`, wantErr: invalidField(field, reason), value: "4321"},
		{name: "array", body: `{"oldSecretValidForSeconds": [4321]}`, wantErr: invalidField(field, reason), value: "4321"},
		{name: "unknown field", body: `{"oldSecretValidForSeconds": 60, "grace": 4321}`, wantErr: invalidField("grace", "is not a member of this request"), value: "4321"},
		{name: "repeated field", body: `{"oldSecretValidForSeconds": 60, "oldSecretValidForSeconds": 7200}`, wantErr: invalidField(field, "must appear once"), value: "7200"},
		{name: "in another case", body: `{"oldSecretValidForSeconds": 60, "OLDSECRETVALIDFORSECONDS": 7200}`, wantErr: invalidField("body", "holds a member that is not part of this request"), value: "7200"},
		{name: "with a long s", body: `{"oldSecretValidForſeconds": 60, "oldSecretValidForSeconds": 7200}`, wantErr: invalidField("body", "holds a member that is not part of this request"), value: "7200"},
		{name: "trailing data", body: `{"oldSecretValidForSeconds": 60} 4321`, wantErr: invalidField("body", "must hold one JSON object and nothing after it"), value: "4321"},
		{name: "two objects", body: `{}{"oldSecretValidForSeconds": 7200}`, wantErr: invalidField("body", "must hold one JSON object and nothing after it"), value: "7200"},
		{name: "malformed", body: `{"oldSecretValidForSeconds": `, wantErr: invalidField("body", "must be well-formed JSON")},
		{name: "unterminated", body: `{"oldSecretValidForSeconds": 4321`, wantErr: invalidField("body", "must be well-formed JSON"), value: "4321"},
		{name: "missing colon", body: `{"oldSecretValidForSeconds" 4321}`, wantErr: invalidField("body", "must be well-formed JSON"), value: "4321"},
		{name: "single quotes", body: `{'oldSecretValidForSeconds': 4321}`, wantErr: invalidField("body", "must be well-formed JSON"), value: "4321"},
		{name: "not an object", body: `[4321]`, wantErr: invalidField("body", "must be a JSON object"), value: "4321"},
		{name: "a bare number", body: `4321`, wantErr: invalidField("body", "must be a JSON object"), value: "4321"},
		{name: "top-level null", body: `null`, wantErr: invalidField("body", "must be a JSON object"), value: "null"},
		{name: "form encoded", body: `oldSecretValidForSeconds=4321`, wantErr: invalidField("body", "must be well-formed JSON"), value: "4321"},
		{name: "too large", body: `{"oldSecretValidForSeconds": 4321` + strings.Repeat(" ", rotationhttp.MaxBody) + `}`, wantErr: &rotationhttp.BodyError{Field: "body", Reason: "must be at most 65536 bytes", Err: rotationhttp.ErrBodyTooLarge}, value: "4321"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			bound := tt.max
			if bound == 0 {
				bound = rotation.DefaultMaxGracePeriod
			}
			got, err := rotationhttp.DecodeRegenerate(post(tt.body), bound)
			if tt.wantErr == nil {
				is.NoErr(err)          // accepted
				is.Equal(got, tt.want) // as this grace window
				return
			}
			is.Equal(got, time.Duration(0)) // nothing decoded
			bodyErr, ok := errors.AsType[*rotationhttp.BodyError](err)
			is.True(ok) // a typed error
			if diff := cmp.Diff(*tt.wantErr, *bodyErr, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			p := rotationhttp.FailureFor(err)
			w := httptest.NewRecorder()
			rotationhttp.WriteProblem(w, post(tt.body), p)
			for _, out := range []string{err.Error(), wire(w)} {
				if tt.value != "" && strings.Contains(out, tt.value) {
					t.Errorf("%q holds the value %q", out, tt.value) // values never come back
				}
			}
			if tt.wantErr.Err == rotationhttp.ErrBodyTooLarge {
				is.Equal(p.Status, http.StatusRequestEntityTooLarge) // too large is 413
				is.True(!errors.Is(err, rotation.ErrValidation))     // and not a validation error
				return
			}
			is.True(errors.Is(err, rotationhttp.ErrInvalidBody)) // an invalid body
			is.True(errors.Is(err, rotation.ErrValidation))      // is a validation error
			is.Equal(p.Status, http.StatusUnprocessableEntity)   // answered 422
			is.Equal(p.Code, rotationhttp.CodeValidationError)   // with the design's code
			if diff := cmp.Diff([]rotationhttp.FieldError{{Field: tt.wantErr.Field, Detail: tt.wantErr.Reason}}, p.Fields); diff != "" {
				t.Errorf("failure fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRegenerateBodies(t *testing.T) {
	tooLarge := strings.Repeat(" ", rotationhttp.MaxBody+1)
	tests := []struct {
		name string
		req  func() *http.Request
		want error
	}{
		{"no body", func() *http.Request { return httptest.NewRequest(http.MethodPost, "/", nil) }, nil},
		{"exactly the limit", func() *http.Request {
			return post(`{}` + strings.Repeat(" ", rotationhttp.MaxBody-2))
		}, nil},
		{"too large, length unknown", func() *http.Request {
			r := post(tooLarge)
			r.ContentLength = -1
			return r
		}, rotationhttp.ErrBodyTooLarge},
		{"too large by Content-Length", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader("{}")))
			r.ContentLength = rotationhttp.MaxBody + 1
			return r
		}, rotationhttp.ErrBodyTooLarge},
		{"a tighter limit set by the caller", func() *http.Request {
			r := post(`{"oldSecretValidForSeconds": 60}`)
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 4)
			return r
		}, rotationhttp.ErrBodyTooLarge},
		{"unreadable", func() *http.Request {
			r := post("")
			r.Body = io.NopCloser(iotest.ErrReader(io.ErrUnexpectedEOF))
			r.ContentLength = -1
			return r
		}, rotationhttp.ErrUnreadableBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := rotationhttp.DecodeRegenerate(tt.req(), rotation.DefaultMaxGracePeriod)
			if tt.want == nil {
				is.NoErr(err) // accepted
				return
			}
			is.True(errors.Is(err, tt.want)) // refused for the right reason
		})
	}
}

// TestDecodeRegenerateBadBound checks that a bound that is not positive
// is the service's mistake, refused before the body is read: no default
// stands in for it, and no client input could make it right.
func TestDecodeRegenerateBadBound(t *testing.T) {
	for _, bound := range []time.Duration{0, -time.Second, math.MinInt64} {
		t.Run(bound.String(), func(t *testing.T) {
			is := is.New(t)
			body := &spyBody{Reader: strings.NewReader(`{"oldSecretValidForSeconds": 60}`)}
			r := httptest.NewRequest(http.MethodPost, "/v1/integrator/regenerate-secret", body)
			got, err := rotationhttp.DecodeRegenerate(r, bound)
			is.Equal(got, time.Duration(0)) // nothing decoded
			is.True(!body.read)             // the body was not even read
			oe, ok := errors.AsType[*rotationhttp.OptionError](err)
			is.True(ok)                                        // an option error
			is.Equal(oe.Field, "maxGrace")                     // naming the argument
			is.True(errors.Is(err, rotation.ErrMisconfigured)) // the service's mistake
			is.True(!errors.Is(err, rotation.ErrValidation))   // not the client's
			_, isBody := errors.AsType[*rotationhttp.BodyError](err)
			is.True(!isBody) // nor the body's
			p := rotationhttp.FailureFor(err)
			is.Equal(p.Status, http.StatusInternalServerError) // answered 500
			is.Equal(p.Code, rotationhttp.CodeInternalError)   // that says nothing more
			is.Equal(len(p.Fields), 0)                         // and names no field
		})
	}
}

// spyBody is a request body that records whether it was read.
type spyBody struct {
	io.Reader
	read bool
}

func (b *spyBody) Read(p []byte) (int, error) {
	b.read = true
	return b.Reader.Read(p)
}

func invalidField(field, reason string) *rotationhttp.BodyError {
	return &rotationhttp.BodyError{Field: field, Reason: reason, Err: rotationhttp.ErrInvalidBody}
}

func FuzzDecodeRegenerate(f *testing.F) {
	for _, s := range []string{"", "{}", `{"oldSecretValidForSeconds": 60}`, `{"oldSecretValidForSeconds": 1.5}`, `{"a":1,"a":2}`, `[`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := rotationhttp.DecodeRegenerate(post(body), rotation.DefaultMaxGracePeriod)
		if err != nil {
			if _, ok := errors.AsType[*rotationhttp.BodyError](err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			if got != 0 {
				t.Fatalf("error with a grace of %v", got)
			}
			return
		}
		if got < 0 || got > time.Hour || got%time.Second != 0 {
			t.Fatalf("grace %v out of range", got)
		}
	})
}
