package hmacsign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
)

// problem is an RFC 9457 problem details body as the middleware writes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// ownerFromPath takes the owner from /hooks/<owner>.
func ownerFromPath(r *http.Request) (string, error) {
	owner, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	if !ok || owner == "" || strings.Contains(owner, "/") {
		return "", errors.New("no owner in path " + r.URL.Path)
	}
	return owner, nil
}

// echo answers 200 with what the middleware verified and the body it got.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	got, ok := hmacsign.FromContext(r.Context())
	body, err := io.ReadAll(r.Body)
	if !ok || err != nil {
		http.Error(w, "nothing verified", http.StatusTeapot)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"owner": got.Owner, "key": got.KeyID, "msg": got.MessageID, "body": string(body),
	})
})

// toSvix renames the Standard Webhooks headers of h to Svix's spelling.
func toSvix(h http.Header) {
	for _, name := range []string{"Id", "Timestamp", "Signature"} {
		h.Set("Svix-"+name, h.Get("Webhook-"+name))
		h.Del("Webhook-" + name)
	}
}

func TestMiddleware(t *testing.T) {
	key := newKey(t, "key_1", secretA, time.Time{})
	clk := newClock(t0)
	keys := ownerKeys{"org_1": {key}}
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: clk.Now})
	mw := newMiddleware(t, v, ownerFromPath, &hmacsign.MiddlewareOptions{MaxBody: 64})
	srv := httptest.NewServer(mw(echo))
	defer srv.Close()
	signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: clk.Now})
	signed, err := signer.Sign(t.Context(), "org_1", "msg_1", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	big, err := signer.Sign(t.Context(), "org_1", "msg_2", bytes.Repeat([]byte("x"), 65))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		path     string
		m        hmacsign.Message
		chunked  bool // send the body without a Content-Length
		edit     func(h http.Header)
		at       time.Time
		status   int
		problem  *problem
		wantBody map[string]string
	}{
		{name: "verified", path: "/hooks/org_1", m: signed, at: t0, status: 200,
			wantBody: map[string]string{"owner": "org_1", "key": "key_1", "msg": "msg_1", "body": payload}},
		{name: "verified, chunked", path: "/hooks/org_1", m: signed, chunked: true, at: t0, status: 200,
			wantBody: map[string]string{"owner": "org_1", "key": "key_1", "msg": "msg_1", "body": payload}},
		{name: "verified, svix spelling", path: "/hooks/org_1", m: signed, edit: toSvix, at: t0, status: 200,
			wantBody: map[string]string{"owner": "org_1", "key": "key_1", "msg": "msg_1", "body": payload}},
		{name: "spellings differ", path: "/hooks/org_1", m: signed, edit: func(h http.Header) { h.Set("Svix-Id", "msg_2") }, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-id and svix-id differ", "malformed_header"}},
		{name: "no signature", path: "/hooks/org_1", m: signed, edit: func(h http.Header) { h.Del("Webhook-Signature") }, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-signature is missing", "missing_header"}},
		{name: "malformed", path: "/hooks/org_1", m: signed, edit: func(h http.Header) { h.Set("Webhook-Signature", "v2,abc") }, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-signature holds no usable entry of a known version", "malformed_header"}},
		{name: "too old", path: "/hooks/org_1", m: signed, at: t0.Add(6 * time.Minute), status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-timestamp is more than 5m0s in the past", "timestamp_too_old"}},
		{name: "too new", path: "/hooks/org_1", m: signed, at: t0.Add(-6 * time.Minute), status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-timestamp is more than 5m0s in the future", "timestamp_too_new"}},
		{name: "tampered", path: "/hooks/org_1", m: hmacsign.Message{ID: signed.ID, Timestamp: signed.Timestamp, Signature: signed.Signature, Payload: []byte(payload + " ")}, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "webhook-signature matches no valid key", "no_matching_signature"}},
		{name: "owner without keys", path: "/hooks/org_2", m: signed, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "the owner has no valid key for standard-webhooks", "no_valid_keys"}},
		{name: "no owner", path: "/elsewhere", m: signed, at: t0, status: 401,
			problem: &problem{"about:blank", "Unauthorized", 401, "the request names no known owner", "unknown_owner"}},
		{name: "body too large", path: "/hooks/org_1", m: big, at: t0, status: 413,
			problem: &problem{"about:blank", "Request Entity Too Large", 413, "the body is larger than the limit", "body_too_large"}},
		{name: "body too large, chunked", path: "/hooks/org_1", m: big, chunked: true, at: t0, status: 413,
			problem: &problem{"about:blank", "Request Entity Too Large", 413, "the body is larger than the limit", "body_too_large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clk.Set(tt.at)
			var body io.Reader = bytes.NewReader(tt.m.Payload)
			if tt.chunked {
				body = iotest.OneByteReader(body) // not a type whose length the client knows
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+tt.path, body)
			is.NoErr(err) // the request is well formed
			signer.SetHeaders(req.Header, tt.m)
			if tt.edit != nil {
				tt.edit(req.Header)
			}
			resp, err := srv.Client().Do(req)
			is.NoErr(err) // the server answers
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			is.NoErr(err)                        // the answer reads
			is.Equal(resp.StatusCode, tt.status) // with the expected status
			assertNoLeak(t, string(got), secretA)
			is.True(!strings.Contains(string(got), strings.TrimPrefix(signed.Signature, "v1,"))) // never the signature

			if tt.problem != nil {
				is.Equal(resp.Header.Get("Content-Type"), "application/problem+json") // a refusal is a problem document
				var p problem
				is.NoErr(json.Unmarshal(got, &p)) // that parses
				if diff := cmp.Diff(*tt.problem, p); diff != "" {
					t.Errorf("problem mismatch (-want +got):\n%s", diff)
				}
				return
			}
			var echoed map[string]string
			is.NoErr(json.Unmarshal(got, &echoed)) // the handler ran
			if diff := cmp.Diff(tt.wantBody, echoed); diff != "" {
				t.Errorf("handler saw (-want +got):\n%s", diff)
			}
		})
	}
}

// downGuard is a ReplayGuard whose backend cannot be reached.
type downGuard struct{}

func (downGuard) Seen(context.Context, string, string, time.Time) (bool, error) {
	return false, fmt.Errorf("guard: %w: dial tcp 10.0.0.9:6379: connection refused", hmacsign.ErrGuardUnavailable)
}

// A key source or replay guard that fails is the server's fault, not a
// verdict on the signature: the sender is told to come back, and nothing
// of the backend shows.
func TestMiddlewareBackendFails(t *testing.T) {
	keys := hmacsign.StaticKeys{newKey(t, "k", secretA, time.Time{})}
	for _, tt := range []struct {
		name       string
		source     hmacsign.KeySource
		guard      hmacsign.ReplayGuard
		want       problem
		retryAfter string
	}{
		{
			name:   "key source",
			source: failingSource{errors.New("dial tcp 10.0.0.7:5432: secret-host refused")},
			want:   problem{"about:blank", "Internal Server Error", 500, "the signature could not be checked", "internal_error"},
		},
		{
			name: "replay guard unavailable", source: keys, guard: downGuard{},
			want:       problem{"about:blank", "Service Unavailable", 503, "the replay guard is unavailable; retry later", "guard_unavailable"},
			retryAfter: "1",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, tt.source, &hmacsign.VerifierOptions{Now: fixed(t0), Replay: tt.guard})
			srv := httptest.NewServer(newMiddleware(t, v, ownerFromPath, nil)(echo))
			defer srv.Close()
			m := sign(t, keys, nil, t0, "msg_1", payload)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/hooks/org_1", bytes.NewReader(m.Payload))
			is.NoErr(err) // the request is well formed
			hmacsign.NewSigner(hmacsign.StaticKeys{}, nil).SetHeaders(req.Header, m)
			resp, err := srv.Client().Do(req)
			is.NoErr(err) // the server answers
			defer resp.Body.Close()
			is.Equal(resp.StatusCode, tt.want.Status)               // a status the sender retries on
			is.Equal(resp.Header.Get("Retry-After"), tt.retryAfter) // and when to, where it passes
			var p problem
			is.NoErr(json.NewDecoder(resp.Body).Decode(&p)) // with a problem document
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("problem mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareDefaultLimit(t *testing.T) {
	is := is.New(t)
	key := newKey(t, "k", secretA, time.Time{})
	v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: fixed(t0)})
	srv := httptest.NewServer(newMiddleware(t, v, ownerFromPath, nil)(echo))
	defer srv.Close()
	for _, tt := range []struct {
		size int
		want int
	}{{hmacsign.DefaultMaxBody, 200}, {hmacsign.DefaultMaxBody + 1, 413}} {
		m := sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", strings.Repeat("a", tt.size))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/hooks/o", bytes.NewReader(m.Payload))
		is.NoErr(err) // the request is well formed
		hmacsign.NewSigner(hmacsign.StaticKeys{}, nil).SetHeaders(req.Header, m)
		resp, err := srv.Client().Do(req)
		is.NoErr(err) // the server answers
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		is.Equal(resp.StatusCode, tt.want) // 1 MiB is let through, a byte more is not
	}
}

func TestFromContext(t *testing.T) {
	is := is.New(t)
	_, ok := hmacsign.FromContext(t.Context())
	is.True(!ok) // nothing verified outside the middleware
	want := hmacsign.Verified{Owner: "o", KeyID: "k", MessageID: "m"}
	got, ok := hmacsign.FromContext(hmacsign.NewContext(t.Context(), want))
	is.True(ok)         // NewContext puts a result in
	is.Equal(got, want) // which FromContext gets out
}

func TestMiddlewarePanics(t *testing.T) {
	v := newVerifier(t, hmacsign.StaticKeys{}, nil)
	tests := []struct {
		name string
		f    func()
	}{
		{"nil verifier", func() { _, _ = hmacsign.Middleware(nil, ownerFromPath, nil) }},
		{"nil owner", func() { _, _ = hmacsign.Middleware(v, nil, nil) }},
		{"nil handler", func() { newMiddleware(t, v, ownerFromPath, nil)(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic for a programmer error")
				}
			}()
			tt.f()
		})
	}
}

// A service's own Error answers every refusal, with the reason; the
// request goes no further.
func TestMiddlewareError(t *testing.T) {
	key := newKey(t, "key_1", secretA, time.Time{})
	clk := newClock(t0)
	keys := ownerKeys{"org_1": {key}}
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: clk.Now})
	var got []error
	mw := newMiddleware(t, v, ownerFromPath, &hmacsign.MiddlewareOptions{
		MaxBody: 8,
		Error: func(w http.ResponseWriter, r *http.Request, err error) {
			got = append(got, err)
			w.WriteHeader(http.StatusTeapot)
		},
	})
	h := mw(echo)
	for _, tt := range []struct {
		name, path, body string
		want             error
		code             string
	}{
		{"UnknownOwner", "/elsewhere", "{}", hmacsign.ErrUnknownOwner, "unknown_owner"},
		{"TooLarge", "/hooks/org_1", "0123456789", hmacsign.ErrBodyTooLarge, "body_too_large"},
		{"Unsigned", "/hooks/org_1", "{}", hmacsign.ErrMissingHeader, "missing_header"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got = nil
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body)))
			is.Equal(w.Code, http.StatusTeapot)      // the service's Error answered
			is.Equal(len(got), 1)                    // once
			is.True(errors.Is(got[0], tt.want))      // with the reason
			is.Equal(hmacsign.Code(got[0]), tt.code) // which Code names
		})
	}
}

func TestCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&hmacsign.VerifyError{Err: hmacsign.ErrMissingHeader}, "missing_header"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrMalformedHeader}, "malformed_header"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrTimestampTooOld}, "timestamp_too_old"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrTimestampTooNew}, "timestamp_too_new"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrNoMatch}, "no_matching_signature"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrNoKeys}, "no_valid_keys"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrReplayed}, "replayed"},
		{&hmacsign.VerifyError{Err: hmacsign.ErrUnknownOwner}, "unknown_owner"},
		{hmacsign.ErrInvalidSignature, "invalid_signature"},
		{hmacsign.ErrBodyTooLarge, "body_too_large"},
		{hmacsign.ErrUnreadableBody, "unreadable_body"},
		{fmt.Errorf("redisreplay: %w: %w", hmacsign.ErrGuardUnavailable, errors.New("i/o timeout")), "guard_unavailable"},
		{errors.New("the key source is down"), "internal_error"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			is.New(t).Equal(hmacsign.Code(tt.err), tt.want) // each reason has its code
		})
	}
}
