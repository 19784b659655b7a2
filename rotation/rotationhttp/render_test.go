package rotationhttp_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/store"
)

// renderDescribed writes a Failure in the shape of seed 001's API,
// {"code", "description", "detail"}, which answers a missing key with 400
// and an invalid one with 403.
func renderDescribed(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
	switch f.Code {
	case rotationhttp.CodeMissingAPIToken:
		f.Status = http.StatusBadRequest
	case rotationhttp.CodeInvalidAPIToken:
		f.Status = http.StatusForbidden
	}
	detail := map[string]any{}
	if f.IP.IsValid() {
		detail["ip_address"] = f.IP.String()
	}
	if f.TotalPermitted > 0 {
		detail["total_permitted"] = f.TotalPermitted
	}
	if len(f.Fields) > 0 {
		detail["errors"] = f.FieldMessages()
	}
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, f.Status, map[string]any{"code": f.Code, "description": f.Message, "detail": detail})
}

// envelopeCodes are the numeric codes of the error envelope of seed 003's
// API, from a table of the service's own; other codes become the status
// times ten.
var envelopeCodes = map[string]int{
	rotationhttp.CodeMissingAPIToken:     1001,
	rotationhttp.CodeInvalidAPIToken:     1002,
	rotationhttp.CodeUnauthorizedNetwork: 1003,
	rotationhttp.CodeScopeNotGranted:     1004,
	rotationhttp.CodeRateLimitReached:    1005,
	rotationhttp.CodeValidationError:     1006,
	rotationhttp.CodeNotFound:            1007,
}

// renderEnveloped writes a Failure in the shape of seed 003's API,
// {"message", "success": false, "error": {"code": <number>, "message",
// "details"}}.
func renderEnveloped(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
	code, ok := envelopeCodes[f.Code]
	if !ok {
		code = f.Status * 10
	}
	details := map[string]any{}
	if len(f.Fields) > 0 {
		details["fields"] = f.Fields
	}
	if f.TotalPermitted > 0 {
		details["limit"], details["retry_after"] = f.TotalPermitted, rotationhttp.RetrySeconds(f.RetryAfter)
	}
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, f.Status, map[string]any{
		"message": f.Message, "success": false,
		"error": map[string]any{"code": code, "message": f.Message, "details": details},
	})
}

// TestRenderers checks that an Authenticator whose Options.Render is a
// service's own answers every refusal, every error given to Error, and
// (through Routes) every unknown route and method in that shape alone:
// exactly the members the renderer writes, none of RFC 9457's, with the
// status the renderer chose and the headers SetHeaders gives.
func TestRenderers(t *testing.T) {
	const (
		missing  = "no API token was given"
		invalid  = "the API token is not valid"
		network  = "the API token may not be used from this network"
		scope    = "the API token has not been granted the scope this request needs"
		limited  = "the rate limit of the API token was reached"
		notValid = "the request is not valid"
		noRoute  = "no such route"
		method   = "the route does not take this method"
		down     = "the service is unavailable; retry later"
		grace    = "must be a whole number of seconds from 0 to 3600"
	)
	described := func(status int, code, description string, detail map[string]any) response {
		return jsonAnswer(status, map[string]any{"code": code, "description": description, "detail": detail})
	}
	enveloped := func(status, code int, message string, details map[string]any) response {
		return jsonAnswer(status, map[string]any{
			"message": message, "success": false,
			"error": map[string]any{"code": code, "message": message, "details": details},
		})
	}
	none := map[string]any{}
	tests := []struct {
		name      string
		send      func(t *testing.T, f *fixture) *httptest.ResponseRecorder
		described response // by renderDescribed
		enveloped response // by renderEnveloped
	}{
		{
			name:      "missing key",
			send:      func(t *testing.T, f *fixture) *httptest.ResponseRecorder { return f.do(t, request{path: "/v1/whoami"}) },
			described: described(400, "missing_api_token", missing, none),
			enveloped: withAuth(enveloped(401, 1001, missing, none), `Bearer realm="rotor-test", scope="secrets:read"`),
		},
		{
			name: "invalid key",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				return f.do(t, request{path: "/v1/whoami", header: bearer(unknownKey(t))})
			},
			described: described(403, "invalid_api_token", invalid, none),
			enveloped: withAuth(enveloped(401, 1002, invalid, none), `Bearer realm="rotor-test", error="invalid_token", scope="secrets:read"`),
		},
		{
			name: "network refused",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				_, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, Networks: internal})
				return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
			},
			described: described(403, "unauthorized_network_for_api_token", network, map[string]any{"ip_address": peer}),
			enveloped: enveloped(403, 1003, network, none),
		},
		{
			name: "scope not granted",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				_, key := f.create(t, "acme", rotation.Spec{Scopes: []string{"secrets:write"}})
				return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
			},
			described: withAuth(described(403, "scope_not_granted", scope, none), `Bearer realm="rotor-test", error="insufficient_scope", scope="secrets:read"`),
			enveloped: withAuth(enveloped(403, 1004, scope, none), `Bearer realm="rotor-test", error="insufficient_scope", scope="secrets:read"`),
		},
		{
			name: "rate limit",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				_, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 1})
				if w := f.do(t, request{path: "/v1/whoami", header: bearer(key)}); w.Code != http.StatusOK {
					t.Fatalf("first request: %d", w.Code)
				}
				return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
			},
			described: withRetry(described(429, "rate_limit_reached", limited, map[string]any{"total_permitted": 1}), "60"),
			enveloped: withRetry(enveloped(429, 1005, limited, map[string]any{"limit": 1, "retry_after": 60}), "60"),
		},
		{
			name: "invalid body, through Error",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				id, key := f.create(t, "acme", rotation.Spec{Scopes: []string{"secrets:write"}})
				return f.do(t, request{method: http.MethodPost, path: "/v1/secrets/" + id + "/regenerate", header: bearer(key), body: `{"oldSecretValidForSeconds": 3601}`})
			},
			described: described(422, "validation_error", notValid, map[string]any{"errors": []any{"oldSecretValidForSeconds " + grace}}),
			enveloped: enveloped(422, 1006, notValid, map[string]any{"fields": []any{map[string]any{"field": "oldSecretValidForSeconds", "detail": grace}}}),
		},
		{
			name: "store down, through Error",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				f.auth.Error(w, httptest.NewRequest(http.MethodGet, "/v1/whoami", nil), &store.OpError{Op: "load", Owner: "acme", Err: errors.New("connection refused")})
				return w
			},
			described: described(503, "service_unavailable", down, none),
			enveloped: enveloped(503, 5030, down, none),
		},
		{
			name: "unknown route",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				return f.do(t, request{path: "/v1/nothing"})
			},
			described: described(404, "not_found", noRoute, none),
			enveloped: enveloped(404, 1007, noRoute, none),
		},
		{
			name: "method not allowed",
			send: func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
				return f.do(t, request{method: http.MethodDelete, path: "/v1/whoami"})
			},
			described: withAllow(described(405, "method_not_allowed", method, none), "GET, HEAD"),
			enveloped: withAllow(enveloped(405, 4050, method, none), "GET, HEAD"),
		},
	}
	for _, shape := range []struct {
		name   string
		render rotationhttp.Renderer
		want   func(i int) response
	}{
		{"seed 001", renderDescribed, func(i int) response { return tests[i].described }},
		{"seed 003", renderEnveloped, func(i int) response { return tests[i].enveloped }},
	} {
		t.Run(shape.name, func(t *testing.T) {
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := newFixture(t, func(o *rotationhttp.Options) { o.Render = shape.render })
					if diff := cmp.Diff(shape.want(i), responseOf(t, tt.send(t, f))); diff != "" {
						t.Errorf("response (-want +got):\n%s", diff) // in the renderer's shape only
					}
				})
			}
		})
	}
}

func withAllow(r response, allow string) response {
	r.Allow = allow
	return r
}

// TestRendererSees checks what a renderer is given: the Failure of the
// error, with the Authenticator's realm and the route's scope, and the
// error itself for logs.
func TestRendererSees(t *testing.T) {
	is := is.New(t)
	var got []rotationhttp.Failure
	f := newFixture(t, func(o *rotationhttp.Options) {
		o.Render = func(w http.ResponseWriter, r *http.Request, fl rotationhttp.Failure) {
			got = append(got, fl)
			w.WriteHeader(http.StatusTeapot)
		}
	})
	is.Equal(f.do(t, request{path: "/v1/whoami"}).Code, http.StatusTeapot) // the renderer answered
	is.Equal(len(got), 1)                                                  // once
	is.Equal(got[0].Code, rotationhttp.CodeMissingAPIToken)                // with the failure
	is.Equal(got[0].Realm, "rotor-test")                                   // in the Authenticator's realm
	is.Equal(got[0].Scope, "secrets:read")                                 // for the route's scope
	is.True(errors.Is(got[0].Err, rotation.ErrMissingKey))                 // and the error, for logs

	w := httptest.NewRecorder()
	f.auth.Error(w, httptest.NewRequest(http.MethodGet, "/", nil), &rotation.AuthError{Err: rotation.ErrInvalidKey})
	is.Equal(got[1].Realm, "rotor-test") // Error puts the realm in too
	is.Equal(got[1].Scope, "")           // but knows no route's scope

	w = httptest.NewRecorder()
	f.auth.Render(w, httptest.NewRequest(http.MethodGet, "/", nil), rotationhttp.Failure{Status: http.StatusGone, Code: "gone"})
	is.Equal(w.Code, http.StatusTeapot)                                           // Render is the renderer
	is.Equal(len(got), 3)                                                         // called once more
	is.Equal(got[2], rotationhttp.Failure{Status: http.StatusGone, Code: "gone"}) // with the Failure as it is
}
