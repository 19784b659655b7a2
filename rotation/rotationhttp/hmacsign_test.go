package rotationhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// ownerOfHook takes the owner from /hooks/<owner>.
func ownerOfHook(r *http.Request) (string, error) {
	owner, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	if !ok || owner == "" {
		return "", errors.New("no owner in path " + r.URL.Path)
	}
	return owner, nil
}

// TestSignatureRefusals checks hmacsign's middleware with an
// Authenticator's Error as its error writer: every signature refusal is a
// 401 in the Authenticator's realm, with the Signature scheme and the code
// hmacsign.Code gives, in the shape of the Authenticator's renderer; a
// body too large is a 413 in that shape too.
func TestSignatureRefusals(t *testing.T) {
	var got []rotationhttp.Failure
	f := newFixture(t, func(o *rotationhttp.Options) {
		o.Render = func(w http.ResponseWriter, r *http.Request, fl rotationhttp.Failure) {
			got = append(got, fl)
			renderDescribed(w, r, fl)
		}
	})
	ctx := t.Context()
	id, _ := f.create(t, "acme", rotation.Spec{HMAC: true})
	f.create(t, "other", rotation.Spec{HMAC: true})
	f.create(t, "unsigned", rotation.Spec{}) // holds no key that can sign or verify
	guard, err := hmacsign.NewMemoryReplayGuard(0, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := hmacsign.NewVerifier(f.rot, &hmacsign.VerifierOptions{Now: f.clock.Now, Replay: guard})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := hmacsign.Middleware(v, ownerOfHook, &hmacsign.MiddlewareOptions{MaxBody: 1024, Error: f.auth.Error})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vf, _ := hmacsign.FromContext(r.Context())
		rotationhttp.WriteJSON(w, http.StatusOK, map[string]string{"owner": vf.Owner, "key": vf.KeyID})
	}))
	signedAt := func(shift time.Duration) func(owner, body string) http.Header {
		s := hmacsign.NewSigner(f.rot, &hmacsign.SignerOptions{Now: func() time.Time { return f.clock.Now().Add(shift) }})
		return func(owner, body string) http.Header {
			t.Helper()
			m, err := s.Sign(ctx, owner, "", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			header := http.Header{}
			s.SetHeaders(header, m)
			return header
		}
	}
	sign := signedAt(0)
	send := func(path, body string, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
		for k, vs := range header {
			r.Header[k] = vs
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		secretstest.NoLeak(t, wire(w), f.keys...) // no answer holds a key
		for _, sig := range header.Values("Webhook-Signature") {
			if strings.Contains(wire(w), sig) {
				t.Errorf("the answer repeats the signature header") // nor the signature
			}
		}
		return w
	}

	const body = `{"type": "invoice.paid"}`
	valid := sign("acme", body)
	w := send("/hooks/acme", body, valid)
	if diff := cmp.Diff(jsonAnswer(200, map[string]any{"owner": "acme", "key": id}), responseOf(t, w)); diff != "" {
		t.Fatalf("a signed request (-want +got):\n%s", diff) // let through, verified with the owner's key
	}
	malformed := sign("acme", body)
	malformed.Set("Webhook-Timestamp", "noon")
	tests := []struct {
		name   string
		path   string
		body   string
		header http.Header
		reason error // the sentinel of the refusal
		status int
		detail string
	}{
		{"unsigned", "/hooks/acme", body, nil, hmacsign.ErrMissingHeader, 401, "webhook-id is missing"},
		{"malformed", "/hooks/acme", body, malformed, hmacsign.ErrMalformedHeader, 401, "webhook-timestamp is not a decimal integer"},
		{"too old", "/hooks/acme", body, signedAt(-6*time.Minute)("acme", body), hmacsign.ErrTimestampTooOld, 401, "webhook-timestamp is more than 5m0s in the past"},
		{"too new", "/hooks/acme", body, signedAt(6*time.Minute)("acme", body), hmacsign.ErrTimestampTooNew, 401, "webhook-timestamp is more than 5m0s in the future"},
		{"another owner's key", "/hooks/acme", body, sign("other", body), hmacsign.ErrNoMatch, 401, "webhook-signature matches no valid key"},
		{"another body", "/hooks/acme", `{"type": "invoice.void"}`, sign("acme", body), hmacsign.ErrNoMatch, 401, "webhook-signature matches no valid key"},
		{"an owner without keys", "/hooks/unsigned", body, sign("acme", body), hmacsign.ErrNoKeys, 401, "the owner has no valid key for standard-webhooks"},
		{"replayed", "/hooks/acme", body, valid, hmacsign.ErrReplayed, 401, "the message was already accepted"},
		{"unknown owner", "/elsewhere", body, sign("acme", body), hmacsign.ErrUnknownOwner, 401, "the request names no known owner"},
		{"too large", "/hooks/acme", strings.Repeat("x", 1025), sign("acme", strings.Repeat("x", 1025)), hmacsign.ErrBodyTooLarge, 413, "the body is larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got = nil
			w := send(tt.path, tt.body, tt.header)
			code := hmacsign.Code(tt.reason)
			want := jsonAnswer(tt.status, map[string]any{"code": code, "description": tt.detail, "detail": map[string]any{}})
			if tt.status == http.StatusUnauthorized {
				want = withAuth(want, `Signature realm="rotor-test"`)
			}
			if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff) // in the renderer's shape, with hmacsign's code
			}
			is.Equal(len(got), 1)                     // the Authenticator's renderer answered, once
			is.True(errors.Is(got[0].Err, tt.reason)) // given the reason
			is.Equal(got[0].Code, code)               // with hmacsign's code for it
			if tt.status == http.StatusUnauthorized {
				is.Equal(got[0].Realm, "rotor-test")     // in the Authenticator's realm
				is.Equal(got[0].AuthScheme, "Signature") // under the Signature scheme
			}
		})
	}
	is.New(t).True(strings.Contains(f.logs.String(), `"code":"timestamp_too_old"`)) // and Error logged each
}

// failingKeys is a key source that cannot be reached, whose error names
// what must not reach a client.
type failingKeys struct{}

func (failingKeys) SigningKeys(context.Context, string) ([]hmacsign.Key, error) {
	return nil, errors.New("dial postgres://rotor:hunter2@10.9.8.7:5432/rotor: connection refused")
}

func (k failingKeys) VerifyingKeys(ctx context.Context, owner string) ([]hmacsign.Key, error) {
	return k.SigningKeys(ctx, owner)
}

// TestSignatureKeySourceFails checks that a key source that fails is
// answered as the service's fault, in the renderer's shape, saying
// nothing of the error.
func TestSignatureKeySourceFails(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotationhttp.Options) { o.Render = renderEnveloped })
	v, err := hmacsign.NewVerifier(failingKeys{}, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err) // a verifier over the failing source
	mw, err := hmacsign.Middleware(v, ownerOfHook, &hmacsign.MiddlewareOptions{Error: f.auth.Error})
	is.NoErr(err) // and its middleware
	r := httptest.NewRequest(http.MethodPost, "/hooks/acme", strings.NewReader("{}"))
	r.Header.Set("Webhook-Id", "msg_1")
	r.Header.Set("Webhook-Timestamp", "1795424400")
	r.Header.Set("Webhook-Signature", "v1,"+strings.Repeat("A", 43)+"=")
	w := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(w, r)
	want := jsonAnswer(500, map[string]any{"message": "", "success": false,
		"error": map[string]any{"code": 5000, "message": "", "details": map[string]any{}}})
	if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff) // a bare 500, in the renderer's shape
	}
	is.True(!strings.Contains(wire(w), "10.9.8.7"))                  // nothing of the error reaches the client
	is.True(strings.Contains(f.logs.String(), "connection refused")) // but the operator hears of it
}
