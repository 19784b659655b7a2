package rotationhttp_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

func TestWriteProblem(t *testing.T) {
	tests := []struct {
		name   string
		f      rotationhttp.Failure
		path   string      // of the request; empty: no request
		header http.Header // set before writing
		want   response
	}{
		{
			name: "zero value",
			want: problem(500, map[string]any{}),
		},
		{
			name: "every member",
			f: rotationhttp.Failure{
				Status: 422, Code: "c", Message: "m", Realm: "r", Scope: "s", ResourceType: "secret", ResourceID: "sec_1",
				Fields: []rotationhttp.FieldError{{Field: "name", Detail: "d"}}, TotalPermitted: 5, Limit: 3,
				IP: netip.MustParseAddr("2001:db8::1"), Err: errors.New("never sent"),
			},
			path: "/v1/secrets/sec_1",
			want: problem(422, map[string]any{
				"detail": "m", "instance": "/v1/secrets/sec_1", "code": "c", "realm": "r", "scope": "s",
				"resourceType": "secret", "resourceId": "sec_1",
				"errors": []any{map[string]any{"field": "name", "detail": "d"}}, "total_permitted": 5, "limit": 3,
				"ip_address": "2001:db8::1",
			}),
		},
		{
			name: "invalid token",
			f:    rotationhttp.Failure{Status: 401, Code: rotationhttp.CodeInvalidAPIToken, Realm: "api", Scope: "secrets:read"},
			want: withAuth(problem(401, map[string]any{"code": "invalid_api_token", "realm": "api", "scope": "secrets:read"}),
				`Bearer realm="api", error="invalid_token", scope="secrets:read"`),
		},
		{
			name: "missing token: no error in the challenge",
			f:    rotationhttp.Failure{Status: 401, Code: rotationhttp.CodeMissingAPIToken, Realm: "api"},
			want: withAuth(problem(401, map[string]any{"code": "missing_api_token", "realm": "api"}), `Bearer realm="api"`),
		},
		{
			name: "insufficient scope",
			f:    rotationhttp.Failure{Status: 403, Code: rotationhttp.CodeScopeNotGranted, Realm: "api", Scope: "secrets:write"},
			want: withAuth(problem(403, map[string]any{"code": "scope_not_granted", "realm": "api", "scope": "secrets:write"}),
				`Bearer realm="api", error="insufficient_scope", scope="secrets:write"`),
		},
		{
			name: "signature scheme",
			f:    rotationhttp.Failure{Status: 401, Code: rotationhttp.CodeNoMatchingSignature, Realm: "hooks", AuthScheme: "Signature"},
			want: withAuth(problem(401, map[string]any{"code": "no_matching_signature", "realm": "hooks"}), `Signature realm="hooks"`),
		},
		{
			name: "401 without a realm",
			f:    rotationhttp.Failure{Status: 401},
			want: withAuth(problem(401, map[string]any{}), "Bearer"),
		},
		{
			name: "no challenge on other refusals",
			f:    rotationhttp.Failure{Status: 403, Code: rotationhttp.CodePermissionDenied, Realm: "api"},
			want: problem(403, map[string]any{"code": "permission_denied", "realm": "api"}),
		},
		{
			name: "realm and scope quoted",
			f:    rotationhttp.Failure{Status: 401, Code: rotationhttp.CodeMissingAPIToken, Realm: `say "hi"\`, Scope: "a\r\nSet-Cookie: x=1"},
			want: withAuth(problem(401, map[string]any{
				"code": "missing_api_token", "realm": `say "hi"\`, "scope": "a\r\nSet-Cookie: x=1",
			}), `Bearer realm="say \"hi\"\\", scope="aSet-Cookie: x=1"`),
		},
		{
			name:   "headers already set are kept",
			f:      rotationhttp.Failure{Status: 401, Code: rotationhttp.CodeInvalidAPIToken, RetryAfter: time.Minute},
			header: http.Header{"Retry-After": {"Wed, 25 Nov 2026 09:00:00 GMT"}, "Www-Authenticate": {`Basic realm="x"`}},
			want:   withRetry(withAuth(problem(401, map[string]any{"code": "invalid_api_token"}), `Basic realm="x"`), "Wed, 25 Nov 2026 09:00:00 GMT"),
		},
		{
			name: "retry after rounds up",
			f:    rotationhttp.Failure{Status: 503, RetryAfter: 1},
			want: withRetry(problem(503, map[string]any{}), "1"),
		},
		{
			name: "rate limit",
			f:    rotationhttp.Failure{Status: 429, Code: rotationhttp.CodeRateLimitReached, TotalPermitted: 60, RetryAfter: 1500 * time.Millisecond},
			want: withRetry(problem(429, map[string]any{"code": "rate_limit_reached", "total_permitted": 60}), "2"),
		},
		{
			name: "no retry after when there is nothing to say",
			f:    rotationhttp.Failure{Status: 503, RetryAfter: -time.Second},
			want: problem(503, map[string]any{}),
		},
		{
			name: "the query is not the instance",
			f:    rotationhttp.Failure{Status: 404},
			path: "/v1/things/1?token=queryvalue",
			want: problem(404, map[string]any{"instance": "/v1/things/1"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			for k, v := range tt.header {
				w.Header()[k] = v
			}
			var r *http.Request
			if tt.path != "" {
				r = httptest.NewRequest(http.MethodGet, tt.path, nil)
			}
			rotationhttp.WriteProblem(w, r, tt.f)
			if diff := cmp.Diff(tt.want, responseOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteProblemInstance checks that the instance repeats the request's
// path, but never a segment that might be a key.
func TestWriteProblemInstance(t *testing.T) {
	const id = "sec_nosuchsecretnosuchsecretxx"
	key := unknownKey(t)
	tests := []struct {
		name, path, want string
	}{
		{"short segments", "/v1/secrets/x/regenerate", "/v1/secrets/x/regenerate"},
		{"a secret id", "/v1/secrets/" + id + "/regenerate", "/v1/secrets/" + id + "/regenerate"},
		{"a segment at the length bound", "/v1/" + strings.Repeat("a", 23), "/v1/" + strings.Repeat("a", 23)},
		{"a segment past the length bound", "/v1/" + strings.Repeat("a", 24), "/v1/REDACTED"},
		{"an id in upper case", "/v1/" + strings.ToUpper(id), "/v1/REDACTED"},
		{"an id with a character too many", "/v1/" + id + "x/regenerate", "/v1/REDACTED/regenerate"},
		{"several long segments", "/" + strings.Repeat("b", 30) + "/x/" + strings.Repeat("c", 40), "/REDACTED/x/REDACTED"},
		{"a key", "/v1/secrets/" + key, "/v1/secrets/REDACTED"},
		{"a key, escaped", "/v1/secrets/" + strings.ReplaceAll(key, "_", "%5F"), "/v1/secrets/REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rotationhttp.WriteError(w, httptest.NewRequest(http.MethodGet, tt.path, nil), rotation.ErrNotFound)
			if got := responseOf(t, w).Body["instance"]; got != tt.want {
				t.Errorf("instance %q, want %q", got, tt.want)
			}
			secretstest.NoLeak(t, wire(w), key) // nowhere in the answer
		})
	}
}

// TestWriteError checks that WriteError is WriteProblem of FailureFor,
// for every row of FailureFor's table.
func TestWriteError(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range failureCases(t, f) {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/things/1", nil)
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			rotationhttp.WriteError(got, r, tt.err)
			rotationhttp.WriteProblem(want, r, rotationhttp.FailureFor(tt.err))
			if diff := cmp.Diff(responseOf(t, want), responseOf(t, got)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	is := is.New(t)
	w := httptest.NewRecorder()
	rotationhttp.WriteJSON(w, http.StatusCreated, map[string]any{"id": "sec_1", "n": 2})
	if diff := cmp.Diff(jsonAnswer(201, map[string]any{"id": "sec_1", "n": 2}), responseOf(t, w)); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff) // the status, JSON, never cached
	}
	is.Equal(w.Body.String(), `{"id":"sec_1","n":2}`+"\n") // compact, one line

	// A value that refuses to be encoded, such as a secrets.Value put where
	// its Reveal belongs, is a bug: a bare 500 that says nothing of it.
	key, err := rotation.DefaultFormat.Generate()
	is.NoErr(err) // a key to misplace
	for _, v := range []any{map[string]any{"secret": key}, map[string]any{"n": math.Inf(1)}, make(chan int)} {
		w := httptest.NewRecorder()
		rotationhttp.WriteJSON(w, http.StatusCreated, v)
		is.Equal(w.Code, http.StatusInternalServerError)                      // not the status asked for
		is.Equal(w.Header().Get("Content-Type"), "text/plain; charset=utf-8") // not JSON
		is.Equal(w.Header().Get("Cache-Control"), "no-store")                 // never cached
		is.Equal(w.Body.Len(), 0)                                             // with no body
		secretstest.NoLeak(t, wire(w), key.Reveal())                          // and the key nowhere
	}
}
