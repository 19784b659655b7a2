package rotationhttp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// renameRequest is the body of the route TestHandle serves.
type renameRequest struct {
	Name string `json:"name"`
}

// TestHandle serves one route through Handle: it authenticates as Require
// does, decodes the body strictly, and writes what the route's func
// returns, or its error, in the Authenticator's shape.
func TestHandle(t *testing.T) {
	f := newFixture(t, nil)
	id, key := f.create(t, "acme", rotation.Spec{Name: "ci", Scopes: []string{"secrets:write"}})
	calls := 0
	f.mux.Handle("POST /v1/rename", rotationhttp.Handle(f.auth, "secrets:write",
		func(r *http.Request, p rotation.Principal, req renameRequest) (int, any, error) {
			calls++
			s, err := f.rot.Update(r.Context(), p.Owner, p.Secret.ID, func(a *rotation.Attributes) { a.Name = req.Name })
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, map[string]string{"id": s.ID, "name": s.Name}, nil
		}))
	for _, tt := range []struct {
		name, auth, body string
		status           int
		code             string // of the problem, if refused
		calls            int    // of the route's func, in all so far
	}{
		{"Served", "Bearer " + key, `{"name":"deploys"}`, http.StatusAccepted, "", 1},
		{"MissingKey", "", `{"name":"x"}`, http.StatusUnauthorized, rotationhttp.CodeMissingAPIToken, 1},
		{"BadBody", "Bearer " + key, `{"name":"x","colour":"red"}`, http.StatusUnprocessableEntity, rotationhttp.CodeValidationError, 1},
		{"RouteError", "Bearer " + key, `{"name":"bad\u0000name"}`, http.StatusUnprocessableEntity, rotationhttp.CodeValidationError, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := httptest.NewRequest(http.MethodPost, "/v1/rename", strings.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			f.routes.ServeHTTP(w, r)
			is.Equal(w.Code, tt.status) // the status the route or its refusal gives
			is.Equal(calls, tt.calls)   // the route runs only for an authenticated, well-formed request
			if tt.code == "" {
				is.Equal(w.Header().Get("Content-Type"), "application/json") // a reply is JSON
				is.Equal(w.Header().Get("Cache-Control"), "no-store")        // never cached
				var got map[string]string
				is.NoErr(json.Unmarshal(w.Body.Bytes(), &got))
				is.Equal(got, map[string]string{"id": id, "name": "deploys"}) // of what the func returned
				return
			}
			var p struct{ Code string }
			is.NoErr(json.Unmarshal(w.Body.Bytes(), &p))
			is.Equal(p.Code, tt.code) // refused in the renderer's shape, with the code
		})
	}
}

func TestRenameFields(t *testing.T) {
	is := is.New(t)
	names := map[string]string{"RateLimit": "api_token.rate_limit", "ExpiresAt": "api_token.expires_at"}
	rotorErr := &rotation.ValidationError{Field: "RateLimit", Reason: "must not be negative"}
	bodyErr := &rotationhttp.BodyError{Field: "RateLimit", Reason: "is not a member of this request", Err: rotationhttp.ErrInvalidBody}
	other := &rotation.ValidationError{Field: "owner", Reason: "must not be empty"}

	got := rotationhttp.FailureFor(rotationhttp.RenameFields(fmt.Errorf("create: %w", errors.Join(rotorErr, bodyErr, other)), names))
	want := []rotationhttp.FieldError{
		{Field: "api_token.rate_limit", Detail: "must not be negative"}, // the Rotator's field, renamed
		{Field: "RateLimit", Detail: "is not a member of this request"}, // a member the client named, as named
		{Field: "owner", Detail: "must not be empty"},                   // a field without a new name, kept
	}
	if d := cmp.Diff(want, got.Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	is.True(errors.Is(rotationhttp.RenameFields(rotorErr, names), rotation.ErrValidation)) // still a validation error
	is.Equal(rotationhttp.RenameFields(nil, names), nil)                                   // nil stays nil
	plain := errors.New("store down")
	is.True(errors.Is(rotationhttp.RenameFields(plain, names), plain))                                                // other errors pass through
	is.Equal(rotationhttp.FailureFor(rotationhttp.RenameFields(plain, names)).Status, http.StatusInternalServerError) // and map as they did
}

func TestParseNetworks(t *testing.T) {
	is := is.New(t)
	got, err := rotationhttp.ParseNetworks("api_token.authorized_ip_addresses",
		[]string{"203.0.113.7", "198.51.100.0/24", "198.51.100.9/24", "2001:db8::1", "2001:db8::/32", "::ffff:192.0.2.1", "::ffff:192.0.2.0/120"})
	is.NoErr(err) // addresses and ranges of both families
	want := []netip.Prefix{
		netip.MustParsePrefix("203.0.113.7/32"),  // an address is that one address
		netip.MustParsePrefix("198.51.100.0/24"), // a range as given
		netip.MustParsePrefix("198.51.100.0/24"), // host bits dropped
		netip.MustParsePrefix("2001:db8::1/128"), // IPv6 too
		netip.MustParsePrefix("2001:db8::/32"),   //
		netip.MustParsePrefix("192.0.2.1/32"),    // IPv4-mapped addresses unmapped
		netip.MustParsePrefix("192.0.2.0/24"),    // and so are their ranges
	}
	if d := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); d != "" {
		t.Errorf("networks (-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "example.com", "203.0.113.7/33", "fe80::1%eth0", "1.2.3"} {
		_, err := rotationhttp.ParseNetworks("nets", []string{"10.0.0.0/8", bad})
		var be *rotationhttp.BodyError
		is.True(errors.As(err, &be))                                                  // a bad entry is refused
		is.Equal(be.Field, "nets[1]")                                                 // named by its index
		is.True(bad == "" || !strings.Contains(be.Error(), bad))                      // and not repeated
		is.Equal(rotationhttp.FailureFor(err).Status, http.StatusUnprocessableEntity) // a 422
	}
}

// ErrorFor gives a route's scope to the answers of middleware other than
// Require, such as hmacsign's, as Require gives it.
func TestErrorFor(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	w := httptest.NewRecorder()
	f.auth.ErrorFor("secrets:write")(w, httptest.NewRequest(http.MethodPost, "/v1/x", nil), &rotation.AuthError{Err: rotation.ErrInvalidKey})
	is.Equal(w.Code, http.StatusUnauthorized)                                                                               // a refused key
	is.Equal(w.Header().Get("WWW-Authenticate"), `Bearer realm="rotor-test", error="invalid_token", scope="secrets:write"`) // with the route's scope
}

func TestBearerKey(t *testing.T) {
	for _, tt := range []struct{ header, want string }{
		{"Bearer sk_live_abc", "sk_live_abc"},
		{"bearer  sk_live_abc", "sk_live_abc"},
		{"Basic dXNlcjpwYXNz", ""},
		{"Bearer", ""},
		{"", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", tt.header)
		is.New(t).Equal(rotationhttp.BearerKey(r), tt.want) // the key, read as Authenticate reads it
	}
}
