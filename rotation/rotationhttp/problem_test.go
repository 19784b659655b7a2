package rotationhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// rotorErrors returns errors made by a real Rotator, so the mapping is
// tested against what package rotation returns, not what it documents.
func rotorErrors(t *testing.T, f *fixture) map[string]error {
	t.Helper()
	ctx := t.Context()
	out := make(map[string]error)
	designated, _ := f.create(t, "acme", rotation.Spec{HMAC: true}) // the first that can sign
	custom, _ := f.create(t, "acme", rotation.Spec{Custom: true})
	revoked, _ := f.create(t, "acme", rotation.Spec{})
	if err := f.rot.Revoke(ctx, "acme", revoked); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.create(t, "full", rotation.Spec{})
	}
	_, out["limit"] = f.rot.Create(ctx, "full", rotation.Spec{})
	_, out["not found"] = f.rot.Regenerate(ctx, "acme", "sec_nosuchsecretnosuchsecretxx", 0)
	_, out["not an id"] = f.rot.Regenerate(ctx, "acme", "sk_live_pasted_where_an_id_goes", 0)
	out["designated"] = f.rot.Delete(ctx, "acme", designated)
	_, out["custom"] = f.rot.Regenerate(ctx, "acme", custom, 0)
	_, out["not active"] = f.rot.Regenerate(ctx, "acme", revoked, 0)
	_, out["grace"] = f.rot.Regenerate(ctx, "acme", designated, 2*time.Hour)
	out["cannot sign"] = f.rot.SetSigning(ctx, "acme", custom) // created without HMAC
	changed, _ := f.create(t, "changed", rotation.Spec{})
	seen, err := f.rot.Get(ctx, "changed", changed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.rot.Regenerate(ctx, "changed", changed, 0) // by someone else, after seen was read
	if err != nil {
		t.Fatal(err)
	}
	f.keys = append(f.keys, res.Value.Reveal())
	_, out["stale"] = f.rot.RegenerateIf(ctx, "changed", changed, seen.Current.ID, 0)
	_, out["malformed key"] = f.rot.Authenticate(ctx, "sk_live_nope", rotation.Request{})
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	_, out["unknown key"] = f.rot.Authenticate(ctx, unknown.Reveal(), rotation.Request{})
	_, out["missing key"] = f.rot.Authenticate(ctx, "", rotation.Request{})
	for name, err := range out {
		if err == nil {
			t.Fatalf("%s: the Rotator gave no error", name)
		}
	}
	return out
}

func TestProblemFor(t *testing.T) {
	f := newFixture(t, nil)
	real := rotorErrors(t, f)
	client := netip.MustParseAddr("198.51.100.7")
	backend := &store.OpError{Op: "load", Owner: "acme", Err: errors.New("dial tcp 10.9.8.7:5432: connect: connection refused")}
	joined := errors.Join(
		&rotation.ValidationError{Field: "name", Reason: "must be at most 200 bytes"},
		&rotationhttp.BodyError{Field: "oldSecretValidForSeconds", Reason: "must be a whole number of seconds from 0 to 3600", Err: rotationhttp.ErrInvalidBody},
	)
	bearer := func(extra string) string { return `Bearer realm="api"` + extra }
	tests := []struct {
		name string
		err  error
		want response
	}{
		{"missing key", real["missing key"], withAuth(problem(401, map[string]any{
			"code": "missing_api_token", "realm": "api",
			"detail": "no API token was given in the Authorization header; send it prefixed with Bearer",
		}), bearer(""))},
		{"malformed key", real["malformed key"], withAuth(problem(401, map[string]any{
			"code": "invalid_api_token", "realm": "api",
			"detail": "the API token is malformed; check that it was copied whole",
		}), bearer(`, error="invalid_token"`))},
		{"unknown key", real["unknown key"], withAuth(problem(401, map[string]any{
			"code": "invalid_api_token", "realm": "api", "detail": "the API token is not valid",
		}), bearer(`, error="invalid_token"`))},
		{"expired key", &rotation.AuthError{Err: rotation.ErrExpired, Owner: "acme", SecretID: "sec_1", Scope: "secrets:read"}, withAuth(problem(401, map[string]any{
			"code": "invalid_api_token", "realm": "api", "scope": "secrets:read", "detail": "the API token has expired",
		}), bearer(`, error="invalid_token", scope="secrets:read"`))},
		{"revoked key", &rotation.AuthError{Err: rotation.ErrRevoked, Owner: "acme", SecretID: "sec_1"}, withAuth(problem(401, map[string]any{
			"code": "invalid_api_token", "realm": "api", "detail": "the API token has been revoked",
		}), bearer(`, error="invalid_token"`))},
		{"bad signature", &hmacsign.VerifyError{Err: hmacsign.ErrTimestampTooOld, Detail: "webhook-timestamp is too old"}, withAuth(problem(401, map[string]any{
			"code": "timestamp_too_old", "realm": "api", "detail": "webhook-timestamp is too old",
		}), `Signature realm="api"`)},
		{"no matching signature", fmt.Errorf("verify: %w", &hmacsign.VerifyError{Err: hmacsign.ErrNoMatch, Detail: "no signature matches"}), withAuth(problem(401, map[string]any{
			"code": "no_matching_signature", "realm": "api", "detail": "no signature matches",
		}), `Signature realm="api"`)},
		{"bare invalid signature", hmacsign.ErrInvalidSignature, withAuth(problem(401, map[string]any{
			"code": "invalid_signature", "realm": "api", "detail": "the request's signature is not valid",
		}), `Signature realm="api"`)},
		{"network", &rotation.AuthError{Err: rotation.ErrNetworkNotAllowed, Owner: "acme", SecretID: "sec_1", IP: client}, problem(403, map[string]any{
			"code": "unauthorized_network_for_api_token", "ip_address": "198.51.100.7",
			"detail": "the API token may not be used from 198.51.100.7",
		})},
		{"scope", &rotation.AuthError{Err: rotation.ErrScopeNotGranted, Owner: "acme", SecretID: "sec_1", Scope: "secrets:write"}, withAuth(problem(403, map[string]any{
			"code": "scope_not_granted", "realm": "api", "scope": "secrets:write",
			"detail": "the API token has not been granted the scope secrets:write",
		}), `Bearer realm="api", error="insufficient_scope", scope="secrets:write"`)},
		{"permission", fmt.Errorf("update key: %w", rotationhttp.ErrPermissionDenied), problem(403, map[string]any{
			"code": "permission_denied", "detail": "the API token is not permitted to perform this action",
		})},
		{"not found", real["not found"], problem(404, map[string]any{
			"code": "api_token_not_found", "resourceType": "secret", "resourceId": "sec_nosuchsecretnosuchsecretxx",
			"detail": "no secret has the id sec_nosuchsecretnosuchsecretxx",
		})},
		{"not an id", real["not an id"], problem(404, map[string]any{
			"code": "api_token_not_found", "resourceType": "secret", "resourceId": "(not a secret id)",
			"detail": "no secret has that id; secret ids are sec_ and 26 lower-case letters and digits",
		})},
		{"limit", real["limit"], problem(409, map[string]any{
			"code": "limit_reached", "limit": 3,
			"detail": "at most 3 secrets may be active at once; delete or regenerate one instead",
		})},
		{"designated", real["designated"], problem(409, map[string]any{
			"code": "designated_secret", "resourceType": "secret", "resourceId": idOf(real["designated"]),
			"detail": "the secret signs webhooks, so it cannot be deleted or revoked; designate another secret first",
		})},
		{"custom", real["custom"], problem(409, map[string]any{
			"code": "custom_secret", "resourceType": "secret", "resourceId": idOf(real["custom"]),
			"detail": "the secret is custom: it can be deleted, not regenerated; create a new one instead",
		})},
		{"not active", real["not active"], problem(409, map[string]any{
			"code": "secret_not_active", "resourceType": "secret", "resourceId": idOf(real["not active"]),
			"detail": "the secret is revoked; only an active secret can be regenerated, updated or designated",
		})},
		{"cannot sign", real["cannot sign"], problem(409, map[string]any{
			"code": "secret_cannot_sign", "resourceType": "secret", "resourceId": idOf(real["cannot sign"]),
			"detail": "the secret keeps no value to sign with; only a secret created to sign webhooks can be designated",
		})},
		{"stale", real["stale"], problem(412, map[string]any{
			"code": "secret_changed", "resourceType": "secret", "resourceId": idOf(real["stale"]),
			"detail": "the secret was regenerated meanwhile; read it again and retry",
		})},
		{"no signing key", fmt.Errorf("hmacsign: signing for owner %q: %w", "acme", hmacsign.ErrNoKeys), problem(409, map[string]any{
			"code": "no_signing_secret", "detail": "no valid secret can sign webhooks for this owner",
		})},
		{"unreadable body", &rotationhttp.BodyError{Field: "body", Reason: "could not be read", Err: rotationhttp.ErrUnreadableBody}, problem(400, map[string]any{
			"code": "unreadable_body", "detail": "the body could not be read",
		})},
		{"body too large", &rotationhttp.BodyError{Field: "body", Reason: "must be at most 65536 bytes", Err: rotationhttp.ErrBodyTooLarge}, problem(413, map[string]any{
			"code": "body_too_large", "detail": "the body must be at most 65536 bytes",
		})},
		{"grace out of range", real["grace"], problem(422, map[string]any{
			"code": "validation_error", "detail": "the request is not valid; see errors",
			"errors": []any{map[string]any{"field": "grace", "detail": "must be from 0s to 1h0m0s, got 2h0m0s"}},
		})},
		{"several invalid fields", joined, problem(422, map[string]any{
			"code": "validation_error", "detail": "the request is not valid; see errors",
			"errors": []any{
				map[string]any{"field": "name", "detail": "must be at most 200 bytes"},
				map[string]any{"field": "oldSecretValidForSeconds", "detail": "must be a whole number of seconds from 0 to 3600"},
			},
		})},
		{"bare validation sentinel", rotation.ErrValidation, problem(422, map[string]any{
			"code": "validation_error", "detail": "the request is not valid; see errors",
			"errors": []any{map[string]any{"field": "body", "detail": "is not valid"}},
		})},
		{"rate limit", &rotationhttp.RateLimitError{SecretID: "sec_1", Limit: 60, RetryAfter: 1500 * time.Millisecond}, withRetry(problem(429, map[string]any{
			"code": "rate_limit_reached", "total_permitted": 60,
			"detail": "the API token allows 60 requests a minute; retry after 2 s",
		}), "2")},
		{"conflict after retries", fmt.Errorf("rotation: acme: %w after 10 attempts: %w", rotation.ErrConflict, &store.OpError{Op: "save", Owner: "acme", Err: store.ErrConflict}), withRetry(problem(503, map[string]any{
			"code": "service_unavailable", "detail": "the service is unavailable; retry later",
		}), "1")},
		{"store conflict", &store.OpError{Op: "save", Owner: "acme", Err: store.ErrConflict}, withRetry(problem(503, map[string]any{
			"code": "service_unavailable", "detail": "the service is unavailable; retry later",
		}), "1")},
		{"store down", backend, problem(503, map[string]any{
			"code": "service_unavailable", "detail": "the service is unavailable; retry later",
		})},
		{"deadline", &store.OpError{Op: "load", Owner: "acme", Err: context.DeadlineExceeded}, problem(503, map[string]any{
			"code": "service_unavailable", "detail": "the service is unavailable; retry later",
		})},
		{"canceled", context.Canceled, problem(503, map[string]any{
			"code": "service_unavailable", "detail": "the service is unavailable; retry later",
		})},
		{"store bug", &store.OpError{Op: "save", Owner: "acme", Err: store.ErrInvalid}, problem(500, map[string]any{
			"code": "internal_error", "detail": "an internal error occurred",
		})},
		{"unknown", errors.New(`pq: password authentication failed for user "rotor" at 10.9.8.7`), problem(500, map[string]any{
			"code": "internal_error", "detail": "an internal error occurred",
		})},
	}
	statuses := make(map[int]bool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			w := httptest.NewRecorder()
			rotationhttp.WriteError(w, httptest.NewRequest(http.MethodPost, "/v1/things/1?token=abc", nil), tt.err)
			got := problemOf(t, w)
			tt.want.Body["instance"] = "/v1/things/1"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			body := w.Body.String()
			secretstest.NoLeak(t, body, f.keys...)
			is.True(!strings.Contains(body, "10.9.8.7")) // nothing internal reaches the client
			is.True(!strings.Contains(body, "password")) // not even from an unknown error
			is.True(!strings.Contains(body, "abc"))      // nor the query string
			statuses[got.Status] = true
		})
	}
	for _, s := range []int{400, 401, 403, 404, 409, 412, 413, 422, 429, 500, 503} {
		if !statuses[s] {
			t.Errorf("no case answers %d", s)
		}
	}
}

// TestProblemForMisconfigured checks that options that cannot work, the
// Rotator's or this package's, are answered as the service's fault: a
// bare 500 that says nothing of the error, never a 422 that would blame
// the client. The operator finds the field in the log.
func TestProblemForMisconfigured(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, nil)
	// A Rotator with no keyring, asked for a secret that must sign.
	noKeyring, err := rotation.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, sealing := noKeyring.Create(ctx, "acme", rotation.Spec{HMAC: true})
	_, policy := rotation.New(memstore.New(), &rotation.Options{Policy: rotation.Policy{MaxActive: -1}})
	_, options := rotationhttp.NewAuthenticator(f.rot, &rotationhttp.Options{MaxLimiters: -1})
	_, bound := rotationhttp.DecodeRegenerate(post(`{"oldSecretValidForSeconds": 60}`), 0)
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"HMAC secret without a keyring", sealing, "Keyring"},
		{"rotation option out of range", policy, "Policy.MaxActive"},
		{"rotationhttp option out of range", options, "MaxLimiters"},
		{"regenerate bound not positive", bound, "maxGrace"},
		{"wrapped", fmt.Errorf("create for acme: %w", sealing), "Keyring"},
	}
	want := problem(500, map[string]any{
		"code": "internal_error", "detail": "an internal error occurred", "instance": "/v1/secrets",
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.True(tt.err != nil)                                // the mistake is reported
			is.True(errors.Is(tt.err, rotation.ErrMisconfigured)) // as a misconfiguration
			is.True(!errors.Is(tt.err, rotation.ErrValidation))   // not as the client's invalid input
			var field string
			if oe, ok := errors.AsType[*rotation.OptionError](tt.err); ok {
				field = oe.Field
			} else if oe, ok := errors.AsType[*rotationhttp.OptionError](tt.err); ok {
				field = oe.Field
			}
			is.Equal(field, tt.field) // a typed error naming the field

			logged := len(f.logs.String())
			w := httptest.NewRecorder()
			f.auth.Error(w, httptest.NewRequest(http.MethodPost, "/v1/secrets", nil), tt.err)
			if diff := cmp.Diff(want, problemOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff) // a bare 500, not a 422
			}
			body := w.Body.String()
			is.True(!strings.Contains(body, tt.err.Error()))   // the error's text stays out of the answer
			is.True(!strings.Contains(body, tt.field))         // even the field it names
			is.True(!strings.Contains(body, "option"))         // and that an option is at fault
			logs := f.logs.String()[logged:]                   // this subtest's line
			is.True(strings.Contains(logs, `"level":"ERROR"`)) // but the operator hears of it
			is.True(strings.Contains(logs, tt.field))          // with the field to fix
		})
	}
}

// idOf returns the id a *rotation.SecretError names.
func idOf(err error) string {
	if se, ok := errors.AsType[*rotation.SecretError](err); ok {
		return se.ID
	}
	return ""
}

func withAuth(r response, challenge string) response {
	r.WWWAuthenticate = challenge
	return r
}

func withRetry(r response, after string) response {
	r.RetryAfter = after
	return r
}

func TestProblemForNil(t *testing.T) {
	is := is.New(t)
	is.True(rotationhttp.ProblemFor(nil) == nil) // no error, no problem

	w := httptest.NewRecorder()
	rotationhttp.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	is.Equal(w.Code, http.StatusInternalServerError) // a nil error written is a bug, answered 500
}

func TestWriteErrorInstance(t *testing.T) {
	const id = "sec_nosuchsecretnosuchsecretxx"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rotationhttp.WriteError(w, httptest.NewRequest(http.MethodGet, tt.path, nil), rotation.ErrNotFound)
			if got := problemOf(t, w).Body["instance"]; got != tt.want {
				t.Errorf("instance %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteProblem(t *testing.T) {
	tests := []struct {
		name   string
		p      rotationhttp.Problem
		header http.Header // set before writing
		want   response
	}{
		{
			name: "zero value",
			want: problem(500, map[string]any{}),
		},
		{
			name: "own type and title kept",
			p:    rotationhttp.Problem{Type: "https://example.com/probs/out-of-credit", Title: "You do not have enough credit.", Status: 403, Detail: "Your balance is 30, but that costs 50."},
			want: response{Status: 403, ContentType: "application/problem+json", CacheControl: "no-store", Body: map[string]any{
				"type": "https://example.com/probs/out-of-credit", "title": "You do not have enough credit.", "status": 403,
				"detail": "Your balance is 30, but that costs 50.",
			}},
		},
		{
			name: "realm and scope quoted",
			p:    rotationhttp.Problem{Status: 401, Code: rotationhttp.CodeMissingAPIToken, Realm: `say "hi"\`, Scope: "a\r\nSet-Cookie: x=1"},
			want: withAuth(problem(401, map[string]any{
				"code": "missing_api_token", "realm": `say "hi"\`, "scope": "a\r\nSet-Cookie: x=1",
			}), `Bearer realm="say \"hi\"\\", scope="aSet-Cookie: x=1"`),
		},
		{
			name: "401 without a realm",
			p:    rotationhttp.Problem{Status: 401},
			want: withAuth(problem(401, map[string]any{}), "Bearer"),
		},
		{
			name:   "headers already set are kept",
			p:      rotationhttp.Problem{Status: 429, RetryAfter: time.Minute},
			header: http.Header{"Retry-After": {"Wed, 25 Nov 2026 09:00:00 GMT"}},
			want:   withRetry(problem(429, map[string]any{}), "Wed, 25 Nov 2026 09:00:00 GMT"),
		},
		{
			name: "retry after rounds up",
			p:    rotationhttp.Problem{Status: 503, RetryAfter: 1},
			want: withRetry(problem(503, map[string]any{}), "1"),
		},
		{
			name: "every extension member",
			p: rotationhttp.Problem{
				Status: 422, Code: "c", Instance: "/i", Realm: "r", Scope: "s", ResourceType: "secret", ResourceID: "sec_1",
				Errors: []rotationhttp.FieldError{{Field: "name", Detail: "d"}}, TotalPermitted: 5, Limit: 3,
				IPAddress: netip.MustParseAddr("2001:db8::1"),
			},
			want: problem(422, map[string]any{
				"code": "c", "instance": "/i", "realm": "r", "scope": "s", "resourceType": "secret", "resourceId": "sec_1",
				"errors": []any{map[string]any{"field": "name", "detail": "d"}}, "total_permitted": 5, "limit": 3,
				"ip_address": "2001:db8::1",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			for k, v := range tt.header {
				w.Header()[k] = v
			}
			rotationhttp.WriteProblem(w, &tt.p)
			if diff := cmp.Diff(tt.want, problemOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProblemRoundTrip(t *testing.T) {
	is := is.New(t)
	want := rotationhttp.Problem{
		Type: "about:blank", Title: "Forbidden", Status: 403, Code: rotationhttp.CodeUnauthorizedNetwork,
		IPAddress: netip.MustParseAddr("192.0.2.7"), Errors: []rotationhttp.FieldError{{Field: "f", Detail: "d"}},
	}
	b, err := json.Marshal(want)
	is.NoErr(err) // a Problem marshals
	var got rotationhttp.Problem
	is.NoErr(json.Unmarshal(b, &got)) // and a client can read it back
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
