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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

var (
	readScope = []string{"secrets:read"}
	internal  = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	proxies   = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28")}
)

func TestRequire(t *testing.T) {
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	const whoamiRealm = `realm="rotor-test"`
	challenge := func(extra string) string { return "Bearer " + whoamiRealm + extra }
	tests := []struct {
		name    string
		proxies []netip.Prefix
		spec    rotation.Spec                             // of the key presented; created for owner "acme"
		setup   func(t *testing.T, f *fixture, id string) // runs after the key is made
		header  func(key string) http.Header
		remote  string
		want    response // for a refusal; zero: let through
		wantIP  netip.Addr
	}{
		{
			name:   "missing header",
			header: func(string) http.Header { return nil },
			want: withAuth(problem(401, map[string]any{
				"code": "missing_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "no API token was given",
			}), challenge(`, scope="secrets:read"`)),
		},
		{
			name:   "wrong scheme",
			header: func(key string) http.Header { return http.Header{"Authorization": {"Basic " + key}} },
			want: withAuth(problem(401, map[string]any{
				"code": "missing_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "no API token was given",
			}), challenge(`, scope="secrets:read"`)),
		},
		{
			name:   "bearer without a key",
			header: func(string) http.Header { return http.Header{"Authorization": {"Bearer "}} },
			want: withAuth(problem(401, map[string]any{
				"code": "missing_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "no API token was given",
			}), challenge(`, scope="secrets:read"`)),
		},
		{
			name:   "malformed key",
			header: func(key string) http.Header { return bearer(key[:len(key)-1]) },
			want: withAuth(problem(401, map[string]any{
				"code": "invalid_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "the API token is malformed",
			}), challenge(`, error="invalid_token", scope="secrets:read"`)),
		},
		{
			name:   "unknown key",
			header: func(string) http.Header { return bearer(unknown.Reveal()) },
			want: withAuth(problem(401, map[string]any{
				"code": "invalid_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "the API token is not valid",
			}), challenge(`, error="invalid_token", scope="secrets:read"`)),
		},
		{
			name: "revoked key",
			setup: func(t *testing.T, f *fixture, id string) {
				// Without HMAC the key cannot sign, so it is not designated
				// and may be revoked.
				if err := f.rot.Revoke(t.Context(), "acme", id); err != nil {
					t.Fatal(err)
				}
			},
			want: withAuth(problem(401, map[string]any{
				"code": "invalid_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "the API token has been revoked",
			}), challenge(`, error="invalid_token", scope="secrets:read"`)),
		},
		{
			name: "network refused",
			spec: rotation.Spec{Scopes: readScope, Networks: internal},
			want: problem(403, map[string]any{
				"code": "unauthorized_network_for_api_token", "ip_address": peer, "instance": "/v1/whoami",
				"detail": "the API token may not be used from this network",
			}),
		},
		{
			name:   "network refused over IPv6",
			spec:   rotation.Spec{Scopes: readScope, Networks: internal},
			remote: "[2001:db8::5]:443",
			want: problem(403, map[string]any{
				"code": "unauthorized_network_for_api_token", "ip_address": "2001:db8::5", "instance": "/v1/whoami",
				"detail": "the API token may not be used from this network",
			}),
		},
		{
			name:   "X-Forwarded-For ignored without trusted proxies",
			spec:   rotation.Spec{Scopes: readScope, Networks: internal},
			header: func(key string) http.Header { return withXFF(bearer(key), "10.1.2.3") },
			want: problem(403, map[string]any{
				"code": "unauthorized_network_for_api_token", "ip_address": peer, "instance": "/v1/whoami",
				"detail": "the API token may not be used from this network",
			}),
		},
		{
			name:    "X-Forwarded-For honoured from a trusted proxy",
			proxies: proxies,
			spec:    rotation.Spec{Scopes: readScope, Networks: internal},
			header:  func(key string) http.Header { return withXFF(bearer(key), "10.1.2.3") },
			wantIP:  netip.MustParseAddr("10.1.2.3"),
		},
		{
			name:    "X-Forwarded-For forged before a trusted proxy",
			proxies: proxies,
			spec:    rotation.Spec{Scopes: readScope, Networks: internal},
			header:  func(key string) http.Header { return withXFF(bearer(key), "10.1.2.3, 198.51.100.7") },
			want: problem(403, map[string]any{
				"code": "unauthorized_network_for_api_token", "ip_address": "198.51.100.7", "instance": "/v1/whoami",
				"detail": "the API token may not be used from this network",
			}),
		},
		{
			name:    "X-Forwarded-For from a proxy that is not trusted",
			proxies: proxies,
			spec:    rotation.Spec{Scopes: readScope, Networks: internal},
			remote:  "198.51.100.9:5555",
			header:  func(key string) http.Header { return withXFF(bearer(key), "10.1.2.3") },
			want: problem(403, map[string]any{
				"code": "unauthorized_network_for_api_token", "ip_address": "198.51.100.9", "instance": "/v1/whoami",
				"detail": "the API token may not be used from this network",
			}),
		},
		{
			name: "scope not granted",
			spec: rotation.Spec{Scopes: []string{"secrets:write"}},
			want: withAuth(problem(403, map[string]any{
				"code": "scope_not_granted", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
				"detail": "the API token has not been granted the scope this request needs",
			}), challenge(`, error="insufficient_scope", scope="secrets:read"`)),
		},
		{
			name:   "lower-case scheme",
			header: func(key string) http.Header { return http.Header{"Authorization": {"bearer  " + key}} },
			wantIP: netip.MustParseAddr(peer),
		},
		{
			name:   "let through with the principal",
			wantIP: netip.MustParseAddr(peer),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, func(o *rotationhttp.Options) { o.TrustedProxies = tt.proxies })
			spec := tt.spec
			if spec.Scopes == nil {
				spec.Scopes = readScope
			}
			id, key := f.create(t, "acme", spec)
			if tt.setup != nil {
				tt.setup(t, f, id)
			}
			header := bearer(key)
			if tt.header != nil {
				header = tt.header(key)
			}
			w := f.do(t, request{path: "/v1/whoami", header: header, remote: tt.remote})
			if tt.want.Status != 0 {
				if diff := cmp.Diff(tt.want, responseOf(t, w)); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
				return
			}
			is.Equal(w.Code, http.StatusOK) // let through
			var got whoami
			is.NoErr(json.Unmarshal(w.Body.Bytes(), &got)) // the handler ran
			if diff := cmp.Diff(whoami{Owner: "acme", SecretID: id, IP: tt.wantIP}, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

func withXFF(h http.Header, xff string) http.Header {
	h.Set("X-Forwarded-For", xff)
	return h
}

func TestRequireGraceWindow(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	id, oldKey := f.create(t, "acme", rotation.Spec{Scopes: []string{"secrets:read", "secrets:write"}})

	w := f.do(t, request{method: http.MethodPost, path: "/v1/secrets/" + id + "/regenerate", header: bearer(oldKey), body: `{"oldSecretValidForSeconds": 600}`})
	is.Equal(w.Code, http.StatusOK) // regenerated with a ten-minute grace window
	var res struct{ ID, Secret string }
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &res)) // the reply holds the new key
	f.keys = append(f.keys, res.Secret)
	is.Equal(res.ID, id)          // the secret keeps its id
	is.True(res.Secret != oldKey) // and has a new value

	f.clock.Advance(9 * time.Minute)
	if diff := cmp.Diff(whoami{Owner: "acme", SecretID: id, Previous: true, IP: netip.MustParseAddr(peer)}, f.principal(t, oldKey), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("old key inside its window (-want +got):\n%s", diff) // works, as a previous value of the same secret
	}
	if diff := cmp.Diff(whoami{Owner: "acme", SecretID: id, IP: netip.MustParseAddr(peer)}, f.principal(t, res.Secret), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("new key (-want +got):\n%s", diff) // works too, as the current value
	}

	f.clock.Advance(time.Minute)
	w = f.do(t, request{path: "/v1/whoami", header: bearer(oldKey)})
	want := withAuth(problem(401, map[string]any{
		"code": "invalid_api_token", "realm": "rotor-test", "scope": "secrets:read", "instance": "/v1/whoami",
		"detail": "the API token has expired",
	}), `Bearer realm="rotor-test", error="invalid_token", scope="secrets:read"`)
	if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
		t.Errorf("old key at the end of its window (-want +got):\n%s", diff)
	}
	is.Equal(f.do(t, request{path: "/v1/whoami", header: bearer(res.Secret)}).Code, http.StatusOK) // the new key still works
}

// principal sends key to /v1/whoami, which must let it through, and
// returns the principal the handler saw.
func (f *fixture) principal(t *testing.T, key string) whoami {
	t.Helper()
	w := f.do(t, request{path: "/v1/whoami", header: bearer(key)})
	if w.Code != http.StatusOK {
		t.Fatalf("whoami: status %d: %s", w.Code, w.Body)
	}
	var got whoami
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("whoami: %v", err)
	}
	return got
}

func TestRequireBadBodyChangesNothing(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	id, key := f.create(t, "acme", rotation.Spec{Scopes: []string{"secrets:read", "secrets:write"}})
	before, err := f.rot.List(t.Context(), "acme")
	is.NoErr(err) // the secrets are listed before

	w := f.do(t, request{method: http.MethodPost, path: "/v1/secrets/" + id + "/regenerate", header: bearer(key), body: `{"oldSecretValidForSeconds": 3601}`})
	want := problem(422, map[string]any{
		"code": "validation_error", "instance": "/v1/secrets/" + id + "/regenerate", "detail": "the request is not valid",
		"errors": []any{map[string]any{"field": "oldSecretValidForSeconds", "detail": "must be a whole number of seconds from 0 to 3600"}},
	})
	if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	after, err := f.rot.List(t.Context(), "acme")
	is.NoErr(err)             // and after
	ignoreUse := cmp.Options{ // the request itself was a use, of the secret and of its value
		cmpopts.IgnoreFields(rotation.Secret{}, "LastUsedAt", "LastUsedIP"),
		cmpopts.IgnoreFields(rotation.ValueInfo{}, "LastUsedAt", "LastUsedIP"),
	}
	if diff := cmp.Diff(before, after, ignoreUse, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
		t.Errorf("secrets changed (-before +after):\n%s", diff)
	}

	w = f.do(t, request{method: http.MethodPost, path: "/v1/secrets/sec_nosuchsecretnosuchsecretxx/regenerate", header: bearer(key)})
	got := responseOf(t, w)
	is.Equal(got.Status, http.StatusNotFound)                          // an unknown id is 404
	is.Equal(got.Body["resourceType"], "secret")                       // naming the type
	is.Equal(got.Body["resourceId"], "sec_nosuchsecretnosuchsecretxx") // and the id
	is.Equal(got.Body["code"], "api_token_not_found")                  // with the design's code
}

func TestRequireRateLimit(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	_, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 2})
	_, other := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 2})
	get := func(key string) *httptest.ResponseRecorder {
		return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
	}

	is.Equal(get(key).Code, http.StatusOK) // first of two
	is.Equal(get(key).Code, http.StatusOK) // second of two
	w := get(key)
	want := withRetry(problem(429, map[string]any{
		"code": "rate_limit_reached", "total_permitted": 2, "instance": "/v1/whoami",
		"detail": "the rate limit of the API token was reached",
	}), "30")
	if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
		t.Errorf("third request (-want +got):\n%s", diff)
	}
	is.Equal(get(other).Code, http.StatusOK) // another key has its own budget

	f.clock.Advance(30 * time.Second)
	is.Equal(get(key).Code, http.StatusOK)              // half a minute refills one request
	is.Equal(get(key).Code, http.StatusTooManyRequests) // but only one
	f.clock.Advance(time.Minute)
	is.Equal(get(key).Code, http.StatusOK)              // a minute later the budget is back
	is.Equal(get(key).Code, http.StatusOK)              // whole
	is.Equal(get(key).Code, http.StatusTooManyRequests) // and then only two again

	_, free := f.create(t, "acme", rotation.Spec{Scopes: readScope})
	for range 100 {
		is.Equal(get(free).Code, http.StatusOK) // a key with no limit is not limited
	}
}

func TestRequireRateLimitConcurrent(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	const limit = 20
	_, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: limit})
	const workers, each = 8, 10
	answers := make([]*httptest.ResponseRecorder, workers*each)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				// serve, not do: only the test's goroutine may fail the test.
				answers[g*each+i] = f.serve(ctx, request{path: "/v1/whoami", header: bearer(key)})
			}
		})
	}
	wg.Wait()
	var ok, limited int
	for _, w := range answers {
		secretstest.NoLeak(t, w.Body.String(), f.keys...) // no answer holds a key, but the one meant to
		switch w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Errorf("status %d", w.Code)
		}
	}
	is.Equal(ok, limit)                   // exactly the limit gets through at one instant
	is.Equal(limited, workers*each-limit) // and every other request is refused
}

// TestRequireRateLimitThroughRegeneration checks that the budget belongs
// to the secret's id, which a regeneration keeps: requests before and
// after it share one per-minute budget.
func TestRequireRateLimitThroughRegeneration(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	id, oldKey := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 3})
	get := func(key string) *httptest.ResponseRecorder {
		return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
	}

	is.Equal(get(oldKey).Code, http.StatusOK) // first of three
	is.Equal(get(oldKey).Code, http.StatusOK) // second of three
	res, err := f.rot.Regenerate(t.Context(), "acme", id, 0)
	is.NoErr(err) // regenerated, the old value dying at once
	newKey := res.Value.Reveal()
	f.keys = append(f.keys, newKey)
	is.Equal(res.ID, id) // the same secret

	is.Equal(get(oldKey).Code, http.StatusUnauthorized) // the old value is refused, which takes nothing from the budget
	is.Equal(get(newKey).Code, http.StatusOK)           // the third request of the minute
	w := get(newKey)
	want := withRetry(problem(429, map[string]any{
		"code": "rate_limit_reached", "total_permitted": 3, "instance": "/v1/whoami",
		"detail": "the rate limit of the API token was reached",
	}), "20")
	if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
		t.Errorf("fourth request, the first with the new value (-want +got):\n%s", diff) // no fresh minute for a new value
	}
	is.True(strings.Contains(f.logs.String(), id)) // the refusal is logged with the secret's id

	f.clock.Advance(20 * time.Second)
	is.Equal(get(newKey).Code, http.StatusOK)              // the budget refills as before
	is.Equal(get(newKey).Code, http.StatusTooManyRequests) // at the same rate
	is.Equal(f.limit.Len(), 1)                             // one bucket: one secret
}

// TestRequireRateLimitSharedInGrace checks that while a previous value is
// in its grace window, it and the current value draw on one budget: the
// two together get exactly the limit, one after the other or at once.
func TestRequireRateLimitSharedInGrace(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	const limit = 4
	id, oldKey := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: limit})
	res, err := f.rot.Regenerate(t.Context(), "acme", id, 10*time.Minute)
	is.NoErr(err) // regenerated with a ten-minute window
	newKey := res.Value.Reveal()
	f.keys = append(f.keys, newKey)
	values := []string{oldKey, newKey}

	for i := range limit {
		key := values[i%2]
		is.Equal(f.principal(t, key).SecretID, id) // old and new value alike are the one secret, within its limit
	}
	for _, key := range values {
		is.Equal(f.do(t, request{path: "/v1/whoami", header: bearer(key)}).Code, http.StatusTooManyRequests) // then neither value has any left
	}

	f.clock.Advance(time.Minute) // a full budget again
	const workers, each = 8, 5
	answers := make([]*httptest.ResponseRecorder, workers*each)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				// serve, not do: only the test's goroutine may fail the test.
				answers[g*each+i] = f.serve(ctx, request{path: "/v1/whoami", header: bearer(values[g%2])})
			}
		})
	}
	wg.Wait()
	var ok int
	for _, w := range answers {
		secretstest.NoLeak(t, w.Body.String(), f.keys...) // no answer holds a key
		switch w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", w.Code)
		}
	}
	is.Equal(ok, limit)        // at one instant, both values together get exactly the limit
	is.Equal(f.limit.Len(), 1) // from one bucket
}

// recordingLimiter is a ratelimit.Limiter that records what it is asked
// and answers as told. It is safe for concurrent use.
type recordingLimiter struct {
	mu    sync.Mutex // guards asked
	asked []string   // "id/limit" of each call
	ok    bool
	wait  time.Duration
	err   error
}

func (l *recordingLimiter) Allow(_ context.Context, id string, perMinute int) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, fmt.Sprintf("%s/%d", id, perMinute))
	return l.ok, l.wait, l.err
}

// TestRequireLimiter checks that Options.Limiter is the one asked, with
// the secret's id and its limit, and only for a key that is valid and has
// a limit; and that its refusal is a 429 that says when to retry.
func TestRequireLimiter(t *testing.T) {
	is := is.New(t)
	lim := &recordingLimiter{ok: true}
	f := newFixture(t, func(o *rotationhttp.Options) { o.Limiter = lim })
	id, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 7})
	_, free := f.create(t, "acme", rotation.Spec{Scopes: readScope})
	get := func(key string) *httptest.ResponseRecorder {
		return f.do(t, request{path: "/v1/whoami", header: bearer(key)})
	}

	is.Equal(get(key).Code, http.StatusOK)                     // allowed by the limiter
	is.Equal(get(free).Code, http.StatusOK)                    // a key without a limit
	is.Equal(get(unknownKey(t)).Code, http.StatusUnauthorized) // an unknown key
	is.Equal(lim.asked, []string{id + "/7"})                   // only the limited key reached it, by its id and limit
	is.Equal(f.limit.Len(), 0)                                 // and the default limiter was never used
	lim.ok, lim.wait = false, 1500*time.Millisecond
	w := get(key)
	is.Equal(w.Code, http.StatusTooManyRequests)          // refused by the limiter
	is.Equal(w.Header().Get("Retry-After"), "2")          // with its retry-after, in whole seconds up
	is.Equal(responseOf(t, w).Body["total_permitted"], 7) // and the key's limit
}

// TestRequireLimiterFails checks that a limiter that cannot decide
// refuses the request: a limiter that fails closed, or a done context,
// with a 503 to retry later; a misused one with a bare 500.
func TestRequireLimiterFails(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"unavailable", fmt.Errorf("redislimit: %w: connection refused", ratelimit.ErrUnavailable), http.StatusServiceUnavailable},
		{"deadline", context.DeadlineExceeded, http.StatusServiceUnavailable},
		{"bad argument", &ratelimit.OptionError{Field: "perMinute", Reason: "must be positive"}, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			lim := &recordingLimiter{ok: true, err: tt.err}
			f := newFixture(t, func(o *rotationhttp.Options) { o.Limiter = lim })
			id, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, RateLimit: 7})
			w := f.do(t, request{path: "/v1/whoami", header: bearer(key)})
			is.Equal(w.Code, tt.status)                                 // refused, not let through
			is.True(!strings.Contains(w.Body.String(), tt.err.Error())) // saying nothing of the limiter's error
			is.True(strings.Contains(f.logs.String(), id))              // which is logged with the secret's id
			is.True(strings.Contains(f.logs.String(), tt.err.Error()))  // and the limiter's words
		})
	}
}

func TestNewAuthenticatorRejects(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name  string
		opts  rotationhttp.Options
		field string
	}{
		{"control character in realm", rotationhttp.Options{Realm: "a\nb"}, "Realm"},
		{"invalid proxy network", rotationhttp.Options{TrustedProxies: []netip.Prefix{{}}}, "TrustedProxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			a, err := rotationhttp.NewAuthenticator(f.rot, &tt.opts)
			is.True(a == nil) // nothing is made
			oe, ok := errors.AsType[*rotationhttp.OptionError](err)
			is.True(ok)                                        // an option error of this package
			is.Equal(oe.Field, tt.field)                       // naming the option
			is.True(strings.Contains(err.Error(), tt.field))   // in its text too
			is.True(errors.Is(err, rotation.ErrMisconfigured)) // the service's mistake
			is.True(!errors.Is(err, rotation.ErrValidation))   // not the client's
			is.Equal(rotationhttp.FailureFor(err).Status, 500) // so a handler that passes it on answers 500, not 422
		})
	}
}

func TestNewAuthenticatorDefaults(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	a, err := rotationhttp.NewAuthenticator(f.rot, nil)
	is.NoErr(err) // nil options are the defaults
	h := a.Require("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	is.Equal(w.Code, http.StatusUnauthorized)                          // no key, no entry
	is.Equal(w.Header().Get("WWW-Authenticate"), `Bearer realm="api"`) // in the default realm, with no scope to name

	_, key := f.create(t, "acme", rotation.Spec{RateLimit: 1})
	var codes []int
	for range 2 {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		h.ServeHTTP(w, r)
		codes = append(codes, w.Code)
	}
	is.Equal(codes, []int{http.StatusNoContent, http.StatusTooManyRequests}) // rate limits hold without a Limiter given
}

func TestRequireOverHTTP(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	id, key := f.create(t, "acme", rotation.Spec{Scopes: readScope, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	srv := httptest.NewServer(f.mux)
	defer srv.Close()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/whoami", nil)
	is.NoErr(err) // a request
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Forwarded-For", "203.0.113.50") // untrusted, so ignored
	resp, err := srv.Client().Do(req)
	is.NoErr(err) // sent
	defer resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusOK) // the loopback client is inside the key's networks
	var got whoami
	is.NoErr(json.NewDecoder(resp.Body).Decode(&got)) // whose answer is the principal
	is.Equal(got.SecretID, id)                        // the principal reached the handler
	is.True(got.IP.IsLoopback())                      // from the connection, not the header

	list, err := f.rot.List(t.Context(), "acme")
	is.NoErr(err)                            // the secrets are listed
	is.True(list[0].LastUsedIP.IsLoopback()) // and the use was recorded from there
}

func TestFromContext(t *testing.T) {
	is := is.New(t)
	_, ok := rotationhttp.FromContext(t.Context())
	is.True(!ok) // none outside Require

	want := rotation.Principal{Owner: "acme", Secret: rotation.Secret{ID: "sec_1"}}
	got, ok := rotationhttp.FromContext(rotationhttp.NewContext(t.Context(), want))
	is.True(ok)                      // NewContext puts one in
	is.Equal(got.Owner, "acme")      // the one given
	is.Equal(got.Secret.ID, "sec_1") // with its secret
}

func TestErrorLogs(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	_, key := f.create(t, "acme", rotation.Spec{})
	r := httptest.NewRequest(http.MethodDelete, "/v1/secrets/sec_1", nil)

	w := httptest.NewRecorder()
	f.auth.Error(w, r, fmt.Errorf("loading: %w", errors.New("disk on fire")))
	is.Equal(w.Code, http.StatusInternalServerError)                         // an unknown error is a 500
	is.True(!strings.Contains(w.Body.String(), "disk on fire"))              // whose text stays out of the answer
	is.True(strings.Contains(f.logs.String(), `"level":"ERROR"`))            // but is logged as an error
	is.True(strings.Contains(f.logs.String(), "disk on fire"))               // with its text
	is.True(strings.Contains(f.logs.String(), `"path":"/v1/secrets/sec_1"`)) // and the path

	w = httptest.NewRecorder()
	presented := key[:len(key)-2]
	_, err := f.rot.Authenticate(t.Context(), presented, rotation.Request{})
	f.auth.Error(w, r, err)
	is.Equal(w.Code, http.StatusUnauthorized)              // a refusal
	secretstest.NoLeak(t, w.Body.String(), key, presented) // answered without the key or what was presented
	secretstest.NoLeak(t, f.logs.String(), key, presented) // and logged without them
}

// TestOptionsKey checks that Options.Key decides where a request's key
// is, and that its error, a Failure of the service's own, is the answer.
func TestOptionsKey(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotationhttp.Options) {
		o.Key = func(r *http.Request) (string, error) {
			key := r.Header.Get("X-API-Key")
			if strings.HasPrefix(key, "pk_") {
				return "", &rotationhttp.Failure{Status: http.StatusForbidden, Code: "publishable_key", Message: "use a secret key"}
			}
			return key, nil
		}
	})
	_, key := f.create(t, "acme", rotation.Spec{Scopes: readScope})

	w := f.do(t, request{path: "/v1/whoami", header: http.Header{"X-Api-Key": {key}}})
	is.Equal(w.Code, http.StatusOK) // the key is read where Key finds it

	w = f.do(t, request{path: "/v1/whoami", header: bearer(key)})
	is.Equal(w.Code, http.StatusUnauthorized)                                 // and nowhere else
	is.Equal(responseOf(t, w).Body["code"], rotationhttp.CodeMissingAPIToken) // "" is no key at all

	w = f.do(t, request{path: "/v1/whoami", header: http.Header{"X-Api-Key": {"pk_live_abc"}}})
	is.Equal(w.Code, http.StatusForbidden) // Key's refusal is the answer
	if d := cmp.Diff(problem(403, map[string]any{"code": "publishable_key", "detail": "use a secret key", "instance": "/v1/whoami"}), responseOf(t, w)); d != "" {
		t.Errorf("refusal (-want +got):\n%s", d)
	}
	is.True(strings.Contains(f.logs.String(), `"code":"publishable_key"`)) // and is logged by its code
}
