package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

// The shapes of token ids and of their secrets.
var (
	idShape     = regexp.MustCompile(`^sec_[0-9a-z]{26}$`)
	secretShape = regexp.MustCompile(`^apitoken_live_[0-9A-Za-z]{49}$`)
)

func TestCreate(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		expires := start.Add(time.Hour)
		got := h.do(call{method: "POST", path: "/api_tokens", secret: h.secret, body: fmt.Sprintf(`{"api_token": {
			"name": "deploys",
			"authorized_ip_addresses": ["203.0.113.7", "198.51.100.77/24", "2001:db8::1", "2001:db8:1::/48"],
			"expires_at": %d,
			"rate_limit": 60,
			"scopes": ["api_tokens"]
		}}`, expires.Unix())})
		is.Equal(got.status, http.StatusOK)                   // a token is created
		is.Equal(got.header.Get("Cache-Control"), "no-store") // the reply holds a secret shown once
		tok := got.body["api_token"].(map[string]any)
		is.True(idShape.MatchString(idOf(tok)))         // the token has an id
		is.True(secretShape.MatchString(secretOf(tok))) // and its secret, this once
		want := map[string]any{"api_token": map[string]any{
			"id":                      idOf(tok),
			"name":                    "deploys",
			"organization_id":         "acme",
			"authorized_ip_addresses": []any{"203.0.113.7/32", "198.51.100.0/24", "2001:db8::1/128", "2001:db8:1::/48"},
			"expires_at":              unixAt(expires),
			"rate_limit":              float64(60),
			"scopes":                  []any{"api_tokens"},
			"secret":                  secretOf(tok),
		}}
		if diff := cmp.Diff(want, got.body); diff != "" {
			t.Errorf("reply (-want +got):\n%s", diff)
		}

		is.True(h.works(secretOf(tok), "203.0.113.7:4711"))   // the secret authenticates at once
		is.True(h.works(secretOf(tok), "[2001:db8:1::9]:80")) // from its networks, IPv6 too

		kept, err := h.env.Rotator.Get(t.Context(), "acme", idOf(tok))
		is.NoErr(err)       // the token is kept
		is.True(!kept.HMAC) // the secret only authenticates: its digest is kept, never a sealed copy
	})
}

// An expiry past what every store keeps exactly (the end of the year
// 9999) is refused, not taken for another instant.
func TestCreateFarExpiry(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		got := h.do(call{method: "POST", path: "/api_tokens", secret: h.secret,
			body: `{"api_token": {"name": "lasting", "expires_at": 9000000000000000000, "scopes": ["api_tokens"]}}`})
		detail := isError(t, got, http.StatusUnprocessableEntity, "validation_error")
		is.Equal(detail["errors"], []any{"api_token.expires_at must be before the year 10000"}) // named, with the bound
		is.Equal(len(h.list()), 1)                                                              // and nothing was created
	})
}

// otherLast returns s with its last character changed, as a typo would.
func otherLast(s string) string {
	last := s[len(s)-1]
	if last == 'x' {
		return s[:len(s)-1] + "y"
	}
	return s[:len(s)-1] + "x"
}

func TestCreateWithDefaults(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		tok := h.create(`{"api_token": {"name": "reader", "expires_at": null}}`)
		want := map[string]any{
			"id":                      idOf(tok),
			"name":                    "reader",
			"organization_id":         "acme",
			"authorized_ip_addresses": []any{},
			"expires_at":              nil,
			"rate_limit":              float64(0),
			"scopes":                  []any{},
			"secret":                  secretOf(tok),
		}
		if diff := cmp.Diff(want, tok); diff != "" {
			t.Errorf("a token with no networks, expiry, limit or scopes (-want +got):\n%s", diff)
		}
	})
}

func TestList(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		ci := h.create(`{"api_token": {"name": "ci", "authorized_ip_addresses": ["10.0.0.0/8"], "rate_limit": 5, "scopes": ["api_tokens"]}}`)
		_, other := h.createOwner("globex")

		got := h.list()
		is.Equal(len(got), 2) // acme's first token and ci, not globex's
		owner, listed := got[0].(map[string]any), got[1].(map[string]any)
		is.Equal(owner["name"], "owner") // oldest first
		delete(ci, "secret")
		if diff := cmp.Diff(ci, listed); diff != "" {
			t.Errorf("listed as created, without the secret (-want +got):\n%s", diff)
		}
		_, shown := owner["secret"]
		is.True(!shown) // a listing shows no secret

		globex := h.do(call{method: "GET", path: "/api_tokens", secret: other}).body["api_tokens"].([]any)
		is.Equal(len(globex), 1)                                          // globex sees its own token only
		is.Equal(globex[0].(map[string]any)["organization_id"], "globex") // which it owns
	})
}

func TestRegenerate(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		tok := h.create(fmt.Sprintf(`{"api_token": {"name": "deploys", "authorized_ip_addresses": ["192.0.2.0/24", "2001:db8::/32"],
			"expires_at": %d, "rate_limit": 100, "scopes": ["api_tokens"]}}`, start.Add(24*time.Hour).Unix()))
		old := secretOf(tok)

		got := h.regenerate(h.secret, idOf(tok))
		is.Equal(got.status, http.StatusOK)                   // regenerated
		is.Equal(got.header.Get("Cache-Control"), "no-store") // the reply holds a secret shown once
		again := got.body["api_token"].(map[string]any)
		is.True(secretShape.MatchString(secretOf(again))) // a new secret
		is.True(secretOf(again) != old)                   // that is not the old one
		tok["secret"] = secretOf(again)
		if diff := cmp.Diff(tok, again); diff != "" {
			t.Errorf("all but the secret is kept: id, name, networks, expiry, limit and scopes (-want +got):\n%s", diff)
		}

		is.True(!h.works(old, "")) // the old secret stops working at once, with the clock unmoved
		is.Equal(isError(t, h.do(call{method: "GET", path: "/api_tokens", secret: old}), http.StatusForbidden, "invalid_api_token"),
			map[string]any{}) // as an invalid token
		is.True(h.works(secretOf(again), "")) // the new one works
		is.Equal(len(h.list()), 2)            // still one entry for the token
	})
}

func TestRegenerateOwnSecret(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		first := h.list()[0].(map[string]any)
		got := h.regenerate(h.secret, idOf(first))
		is.Equal(got.status, http.StatusOK)                                    // a token may regenerate itself
		is.True(!h.works(h.secret, ""))                                        // and the secret it came with dies at once
		is.True(h.works(secretOf(got.body["api_token"].(map[string]any)), "")) // and the new one works
	})
}

func TestRegenerateKeepsRateBudget(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		tok := h.create(`{"api_token": {"name": "limited", "rate_limit": 2, "scopes": ["api_tokens"]}}`)
		is.True(h.works(secretOf(tok), "")) // one
		is.True(h.works(secretOf(tok), "")) // two: the budget is spent

		got := h.regenerate(h.secret, idOf(tok))
		is.Equal(got.status, http.StatusOK) // regenerated by another token
		fresh := secretOf(got.body["api_token"].(map[string]any))
		detail := isError(t, h.do(call{method: "GET", path: "/api_tokens", secret: fresh}), http.StatusTooManyRequests, "rate_limit_reached")
		is.Equal(detail, map[string]any{"total_permitted": float64(2)}) // the new secret has no fresh minute
	})
}

func TestExpiry(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		expires := start.Add(time.Minute)
		tok := h.create(fmt.Sprintf(`{"api_token": {"name": "brief", "expires_at": %d, "scopes": ["api_tokens"]}}`, expires.Unix()))

		h.clock.Set(expires.Add(-time.Second))
		is.True(h.works(secretOf(tok), "")) // works until its last second

		h.clock.Set(expires)
		detail := isError(t, h.do(call{method: "GET", path: "/api_tokens", secret: secretOf(tok)}), http.StatusForbidden, "invalid_api_token")
		is.Equal(detail, map[string]any{}) // refused from expires_at on

		listed := h.list()[1].(map[string]any)
		is.Equal(listed["expires_at"], unixAt(expires)) // still listed, with its expiry

		got := h.regenerate(h.secret, idOf(tok))
		detail = isError(t, got, http.StatusUnprocessableEntity, "validation_error")
		is.Equal(detail, map[string]any{"errors": []any{"api_token.id must name a token that has not expired"}}) // an expired token stays expired
	})
}

func TestNetworks(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		tok := h.create(`{"api_token": {"name": "office", "scopes": ["api_tokens"],
			"authorized_ip_addresses": ["203.0.113.0/24", "192.0.2.10", "2001:db8::/32", "::ffff:198.51.100.1"]}}`)
		for _, tc := range []struct {
			from string
			ok   bool
		}{
			{"203.0.113.200:50000", true},
			{"192.0.2.10:443", true},
			{"192.0.2.11:443", false}, // a bare address is that one host only
			{"[2001:db8:ffff::1]:443", true},
			{"[2001:db9::1]:443", false},
			{"198.51.100.1:443", true},         // an IPv4-mapped entry stands for its IPv4 address
			{"[::ffff:203.0.113.9]:443", true}, // and so does a mapped client
			{"198.51.100.2:443", false},
		} {
			t.Run(tc.from, func(t *testing.T) {
				is := is.New(t)
				got := h.on(t).do(call{method: "GET", path: "/api_tokens", secret: secretOf(tok), from: tc.from})
				if tc.ok {
					is.Equal(got.status, http.StatusOK) // inside the token's networks
					return
				}
				detail := isError(t, got, http.StatusForbidden, "unauthorized_network_for_api_token")
				ip := tc.from[:strings.LastIndex(tc.from, ":")]
				is.Equal(detail, map[string]any{"ip_address": strings.Trim(ip, "[]")}) // the address the request came from
			})
		}
	})
}

func TestRateLimit(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		tok := h.create(`{"api_token": {"name": "limited", "rate_limit": 3, "scopes": ["api_tokens"]}}`)
		secret := secretOf(tok)
		for range 3 {
			is.True(h.works(secret, "")) // up to the limit
		}
		got := h.do(call{method: "GET", path: "/api_tokens", secret: secret})
		detail := isError(t, got, http.StatusTooManyRequests, "rate_limit_reached")
		is.Equal(detail, map[string]any{"total_permitted": float64(3)}) // one past it: refused, saying the limit
		is.Equal(got.header.Get("Retry-After"), "20")                   // a request comes back every 20 seconds

		h.clock.Advance(19 * time.Second)
		is.True(!h.works(secret, "")) // not before
		h.clock.Advance(time.Second)
		is.True(h.works(secret, ""))  // one is back after 20 seconds
		is.True(!h.works(secret, "")) // only one

		h.clock.Advance(time.Minute)
		for range 3 {
			is.True(h.works(secret, "")) // a minute refills the whole budget
		}
		is.True(!h.works(secret, ""))  // and no more
		is.True(h.works(h.secret, "")) // another token has its own budget
	})
}

func TestAuthErrors(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		scopeless := secretOf(h.create(`{"api_token": {"name": "scopeless"}}`))
		for _, tc := range []struct {
			name          string
			authorization string
			status        int
			code          string
			detail        map[string]any
		}{
			{"no header", "", http.StatusBadRequest, "missing_api_token", map[string]any{}},
			{"other scheme", "Basic " + h.secret, http.StatusBadRequest, "missing_api_token", map[string]any{}},
			{"empty bearer", "Bearer ", http.StatusBadRequest, "missing_api_token", map[string]any{}},
			{"malformed", "Bearer not-a-token", http.StatusForbidden, "invalid_api_token", map[string]any{}},
			{"bad checksum", "Bearer " + otherLast(h.secret), http.StatusForbidden, "invalid_api_token", map[string]any{}},
			{"unknown", "Bearer " + unknownSecret(t), http.StatusForbidden, "invalid_api_token", map[string]any{}},
			{"scope not granted", "Bearer " + scopeless, http.StatusForbidden, "scope_not_granted", map[string]any{"scopes": []any{"api_tokens"}}},
		} {
			for _, route := range []struct{ method, path, body string }{
				{"GET", "/api_tokens", ""},
				{"POST", "/api_tokens", `{"api_token": {"name": "x"}}`},
				{"POST", "/api_tokens/api_token/regenerate_secret", `{"api_token": {"id": "sec_00000000000000000000000000"}}`},
			} {
				t.Run(tc.name+" "+route.method+" "+route.path, func(t *testing.T) {
					is := is.New(t)
					r := h.on(t).doWith(call{method: route.method, path: route.path, body: route.body}, func(r *http.Request) {
						if tc.authorization != "" {
							r.Header.Set("Authorization", tc.authorization)
						}
					})
					detail := isError(t, r, tc.status, tc.code)
					is.Equal(detail, tc.detail) // what the document's detail holds
				})
			}
		}
		is := is.New(t)
		is.Equal(len(h.list()), 2) // nothing was created
	})
}

func TestPermissionDenied(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		got := h.do(call{method: "POST", path: "/api_tokens", secret: h.secret,
			body: `{"api_token": {"name": "billing", "scopes": ["api_tokens", "billing"]}}`})
		is.Equal(isError(t, got, http.StatusForbidden, "permission_denied"), map[string]any{}) // a token cannot grant a scope it does not hold
		is.Equal(len(h.list()), 1)                                                             // and nothing was created

		// A token with more scopes, made by some other means than this API.
		wider, err := h.env.Rotator.Create(t.Context(), h.owner, rotation.Spec{Name: "wider", Scopes: []string{"api_tokens", "billing"}})
		is.NoErr(err) // a token made outside the API
		h.saw(wider.Value.Reveal())
		got = h.regenerate(h.secret, wider.ID)
		is.Equal(isError(t, got, http.StatusForbidden, "permission_denied"), map[string]any{}) // nor take the secret of a token that holds one
		is.True(h.works(wider.Value.Reveal(), ""))                                             // whose secret is unchanged

		child := h.create(`{"api_token": {"name": "child", "scopes": ["api_tokens"]}}`)
		got = h.regenerate(h.secret, idOf(child))
		is.Equal(got.status, http.StatusOK) // a token with the same scopes is fine
		got = h.do(call{method: "POST", path: "/api_tokens", secret: wider.Value.Reveal(),
			body: `{"api_token": {"name": "billing", "scopes": ["billing"]}}`})
		is.Equal(got.status, http.StatusOK) // and so is a subset of one's own
	})
}

func TestNotFound(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		_, other := h.createOwner("globex")
		theirs := h.do(call{method: "GET", path: "/api_tokens", secret: other}).body["api_tokens"].([]any)[0].(map[string]any)
		for _, tc := range []struct{ name, id string }{
			{"unknown id", "sec_00000000000000000000000000"},
			{"not an id", "apitoken_live_pasted"},
			{"empty id", ""},
			{"another organization's token", idOf(theirs)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				detail := isError(t, h.on(t).regenerate(h.secret, tc.id), http.StatusNotFound, "api_token_not_found")
				is.Equal(detail, map[string]any{}) // no token was found
			})
		}
		is := is.New(t)
		is.True(h.works(other, "")) // globex's token was not touched
	})
}

func TestUnknownRoutes(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/api_tokens/api_token", http.StatusNotFound, "not_found"},
			{"GET", "/", http.StatusNotFound, "not_found"},
			{"GET", "//api_tokens", http.StatusNotFound, "not_found"}, // an unclean path, never a redirect
			{"GET", "/api_tokens/../api_tokens", http.StatusNotFound, "not_found"},
			{"DELETE", "/api_tokens", http.StatusMethodNotAllowed, "method_not_allowed"},
			{"GET", "/api_tokens/api_token/regenerate_secret", http.StatusMethodNotAllowed, "method_not_allowed"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				is := is.New(t)
				got := h.on(t).do(call{method: tc.method, path: tc.path, secret: h.secret})
				is.Equal(isError(t, got, tc.status, tc.code), map[string]any{}) // in this API's shape
				is.Equal(got.header.Get("Location"), "")                        // no redirect
			})
		}
	})
}

func TestValidation(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		tok := h.create(`{"api_token": {"name": "ci", "scopes": ["api_tokens"]}}`)
		before := h.list()
		long := strings.Repeat("n", rotation.MaxNameLen+1)
		for _, tc := range []struct {
			name, path, body string
			errors           []any
		}{
			{"no body", "/api_tokens", ``, []any{"api_token.name must be given"}},
			{"no token", "/api_tokens", `{}`, []any{"api_token.name must be given"}},
			{"no name", "/api_tokens", `{"api_token": {"scopes": ["api_tokens"]}}`, []any{"api_token.name must be given"}},
			{"long name", "/api_tokens", `{"api_token": {"name": "` + long + `"}}`, []any{"api_token.name must be at most 200 bytes"}},
			{"misplaced member", "/api_tokens", `{"Name": "x"}`, []any{"Name is not a member of this request"}},
			{"unknown member", "/api_tokens", `{"api_token": {"name": "x", "colour": "red"}}`, []any{"api_token.colour is not a member of this request"}},
			{"id on creation", "/api_tokens", `{"api_token": {"name": "x", "id": "sec_00000000000000000000000000"}}`, []any{"api_token.id is not a member of this request"}},
			{"repeated member", "/api_tokens", `{"api_token": {"name": "x", "name": "y"}}`, []any{"api_token.name must appear once"}},
			{"malformed", "/api_tokens", `{"api_token": {"name": "x"`, []any{"body must be well-formed JSON"}},
			{"not an object", "/api_tokens", `["api_token"]`, []any{"body must be a JSON object"}},
			{"bad address", "/api_tokens", `{"api_token": {"name": "x", "authorized_ip_addresses": ["10.0.0.1", "10.0.0.300"]}}`,
				[]any{"api_token.authorized_ip_addresses[1] must be an IPv4 or IPv6 address or CIDR range"}},
			{"bad range", "/api_tokens", `{"api_token": {"name": "x", "authorized_ip_addresses": ["2001:db8::/129"]}}`,
				[]any{"api_token.authorized_ip_addresses[0] must be an IPv4 or IPv6 address or CIDR range"}},
			{"host name", "/api_tokens", `{"api_token": {"name": "x", "authorized_ip_addresses": ["10.0.0.0/8", "example.com"]}}`,
				[]any{"api_token.authorized_ip_addresses[1] must be an IPv4 or IPv6 address or CIDR range"}},
			{"address not a string", "/api_tokens", `{"api_token": {"name": "x", "authorized_ip_addresses": [10]}}`,
				[]any{"api_token.authorized_ip_addresses[0] must be a string"}},
			{"expiry now", "/api_tokens", fmt.Sprintf(`{"api_token": {"name": "x", "expires_at": %d}}`, start.Unix()),
				[]any{"api_token.expires_at must be in the future"}},
			{"expiry past", "/api_tokens", `{"api_token": {"name": "x", "expires_at": 0}}`, []any{"api_token.expires_at must be in the future"}},
			{"expiry not whole", "/api_tokens", `{"api_token": {"name": "x", "expires_at": 1.5e9}}`, []any{"api_token.expires_at must be a whole number of seconds since 1970, or null"}},
			{"expiry a string", "/api_tokens", `{"api_token": {"name": "x", "expires_at": "2030-01-01T00:00:00Z"}}`, []any{"api_token.expires_at must be a whole number of seconds since 1970, or null"}},
			{"negative limit", "/api_tokens", `{"api_token": {"name": "x", "rate_limit": -1}}`, []any{"api_token.rate_limit must not be negative"}},
			{"limit not a number", "/api_tokens", `{"api_token": {"name": "x", "rate_limit": "ten"}}`, []any{"api_token.rate_limit must be a whole number in range"}},
			{"empty scope", "/api_tokens", `{"api_token": {"name": "x", "scopes": [""]}}`, []any{"api_token.scopes must not hold an empty scope"}},
			{"scopes not a list", "/api_tokens", `{"api_token": {"name": "x", "scopes": "api_tokens"}}`, []any{"api_token.scopes must be an array"}},
			{"regenerate nothing", "/api_tokens/api_token/regenerate_secret", `{"api_token": {"id": "` + idOf(tok) + `", "name": "y"}}`,
				[]any{"api_token.name is not a member of this request"}},
			{"id not a string", "/api_tokens/api_token/regenerate_secret", `{"api_token": {"id": 7}}`, []any{"api_token.id must be a string"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				got := h.on(t).do(call{method: "POST", path: tc.path, body: tc.body, secret: h.secret})
				detail := isError(t, got, http.StatusUnprocessableEntity, "validation_error")
				is.Equal(detail, map[string]any{"errors": tc.errors}) // each error names the member by its path
			})
		}
		is := is.New(t)
		if diff := cmp.Diff(before, h.list()); diff != "" {
			t.Errorf("validation errors change nothing (-want +got):\n%s", diff)
		}
		is.True(h.works(secretOf(tok), "")) // not even the token named in a refused regeneration
	})
}

func TestTooManyTokens(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		for i := 1; i < maxTokens; i++ {
			h.create(fmt.Sprintf(`{"api_token": {"name": "token %d"}}`, i))
		}
		got := h.do(call{method: "POST", path: "/api_tokens", secret: h.secret, body: `{"api_token": {"name": "one too many"}}`})
		detail := isError(t, got, http.StatusUnprocessableEntity, "validation_error")
		is.Equal(detail, map[string]any{"errors": []any{
			fmt.Sprintf("api_token cannot be created: the organization has %d unexpired tokens, the most it may", maxTokens),
		}}) // the organization's limit, as a validation error of the request
		is.Equal(len(h.list()), maxTokens) // nothing more was created
	})
}

func TestServiceUnavailable(t *testing.T) {
	onEachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		tok := h.create(`{"api_token": {"name": "ci", "scopes": ["api_tokens"]}}`)

		h.store.fail() // the database is down
		cold := h.replica()
		calls := []call{
			{method: "GET", path: "/api_tokens", secret: h.secret},
			{method: "POST", path: "/api_tokens", secret: h.secret, body: `{"api_token": {"name": "x"}}`},
			{method: "POST", path: "/api_tokens/api_token/regenerate_secret", secret: h.secret, body: `{"api_token": {"id": "` + idOf(tok) + `"}}`},
		}
		for _, c := range calls {
			is.Equal(isError(t, cold.do(c), http.StatusServiceUnavailable, "service_unavailable"), map[string]any{}) // every route, on a replica that has cached nothing
		}
		is.Equal(h.do(calls[0]).status, http.StatusOK) // a replica that has the organization cached still lists its tokens
		for _, c := range calls[1:] {
			is.Equal(isError(t, h.do(c), http.StatusServiceUnavailable, "service_unavailable"), map[string]any{}) // but changes nothing
		}

		h.store.fail("save") // tokens authenticate, but changes fail
		got := h.do(call{method: "POST", path: "/api_tokens", secret: h.secret, body: `{"api_token": {"name": "x"}}`})
		is.Equal(isError(t, got, http.StatusServiceUnavailable, "service_unavailable"), map[string]any{}) // a creation
		got = h.regenerate(h.secret, idOf(tok))
		is.Equal(isError(t, got, http.StatusServiceUnavailable, "service_unavailable"), map[string]any{}) // a regeneration

		h.store.restore()
		is.Equal(len(h.list()), 2)          // nothing was created
		is.True(h.works(secretOf(tok), "")) // nor regenerated
	})
}
