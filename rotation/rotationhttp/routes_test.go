package rotationhttp_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

func TestRoutes(t *testing.T) {
	f := newFixture(t, nil)
	key := unknownKey(t)
	notFound := func(shown string) response {
		return problem(404, map[string]any{
			"code": "not_found", "detail": "no such route", "instance": shown, "resourceType": "route", "resourceId": shown,
		})
	}
	notAllowed := func(path, allow string) response {
		return withAllow(problem(405, map[string]any{
			"code": "method_not_allowed", "detail": "the route does not take this method", "instance": path,
		}), allow)
	}
	tests := []struct {
		name, method, path string
		want               response
	}{
		{"a route", http.MethodGet, "/v1/secrets/sec_123", jsonAnswer(200, map[string]any{"id": "sec_123"})},
		{"a route, its path value escaped", http.MethodGet, "/v1/secrets/sec%5F123", jsonAnswer(200, map[string]any{"id": "sec_123"})},
		{"an unknown route", http.MethodGet, "/v1/nothing", notFound("/v1/nothing")},
		{"an unknown route with a key in it", http.MethodGet, "/v1/nothing/" + key, notFound("/v1/nothing/REDACTED")},
		{"a route's path with a slash after it", http.MethodGet, "/v1/secrets/sec_123/", notFound("/v1/secrets/sec_123/")},
		{"a method a route does not take", http.MethodDelete, "/v1/secrets/sec_123", notAllowed("/v1/secrets/sec_123", "GET, HEAD")},
		{"a method a POST route does not take", http.MethodGet, "/v1/secrets/sec_123/regenerate", notAllowed("/v1/secrets/sec_123/regenerate", "POST")},

		// Paths ServeMux would redirect to their cleaned form.
		{"doubled slashes", http.MethodGet, "//v1//secrets//sec_123", notFound("//v1//secrets//sec_123")},
		{"doubled slashes and a key", http.MethodGet, "//v1//secrets//" + key, notFound("//v1//secrets//REDACTED")},
		{"a dot segment", http.MethodGet, "/v1/./secrets/sec_123", notFound("/v1/./secrets/sec_123")},
		{"a dot-dot segment", http.MethodGet, "/v1/secrets/../x", notFound("/v1/secrets/../x")},
		{"a dot-dot segment and a key", http.MethodGet, "/v1/secrets/../secrets/" + key, notFound("/v1/secrets/../secrets/REDACTED")},
		{"an escaped dot-dot segment", http.MethodGet, "/v1/secrets/%2e%2e/x", notFound("/v1/secrets/../x")},
		{"a dot-dot at the end", http.MethodGet, "/v1/secrets/sec_123/regenerate/..", notFound("/v1/secrets/sec_123/regenerate/..")},
		{"an unclean path a POST would take", http.MethodPost, "/v1//secrets/sec_123/regenerate", notFound("/v1//secrets/sec_123/regenerate")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			w := f.do(t, request{method: tt.method, path: tt.path})
			if diff := cmp.Diff(tt.want, responseOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			is.Equal(w.Header().Get("Location"), "") // never a redirect
			secretstest.NoLeak(t, wire(w), key)      // and the key nowhere: status line, headers, body
		})
	}
	is.New(t).Equal(f.logs.String(), "") // Routes logs nothing
}

// TestRoutesFailures checks the Failures Routes gives the renderer.
func TestRoutesFailures(t *testing.T) {
	key := unknownKey(t)
	var got []rotationhttp.Failure
	var allow []string
	render := func(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
		got = append(got, f)
		allow = append(allow, w.Header().Get("Allow"))
		w.WriteHeader(f.Status)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/secrets/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := rotationhttp.Routes(mux, render)
	for _, tt := range []struct {
		method, path string
		want         rotationhttp.Failure
		allow        string
	}{
		{http.MethodGet, "/v1/nothing/" + key, rotationhttp.Failure{Status: 404, Code: rotationhttp.CodeNotFound, Message: "no such route",
			ResourceType: "route", ResourceID: "/v1/nothing/REDACTED"}, ""},
		{http.MethodGet, "//v1//secrets//" + key, rotationhttp.Failure{Status: 404, Code: rotationhttp.CodeNotFound, Message: "no such route",
			ResourceType: "route", ResourceID: "//v1//secrets//REDACTED"}, ""},
		{http.MethodGet, "/v1/secrets/sec_123", rotationhttp.Failure{Status: 405, Code: rotationhttp.CodeMethodNotAllowed,
			Message: "the route does not take this method"}, "PUT"},
	} {
		t.Run(tt.method+" "+tt.want.Code, func(t *testing.T) {
			is := is.New(t)
			got, allow = nil, nil
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			is.Equal(len(got), 1) // the renderer answered, once
			if diff := cmp.Diff(tt.want, got[0], cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("failure (-want +got):\n%s", diff)
			}
			is.Equal(allow[0], tt.allow)                            // the Allow header is set before rendering
			is.Equal(w.Code, tt.want.Status)                        // with the status the renderer chose
			secretstest.NoLeak(t, wire(w), key)                     // and the key nowhere
			secretstest.NoLeak(t, secretstest.Outputs(got[0]), key) // not even in the Failure
		})
	}
}

// TestRoutesOverHTTP sends paths a client would send as they are, through
// a real server and client that follows no redirect.
func TestRoutesOverHTTP(t *testing.T) {
	f := newFixture(t, nil)
	key := unknownKey(t)
	srv := httptest.NewServer(f.routes)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range []struct{ name, path string }{
		{"doubled slashes", "//v1//secrets//" + key},
		{"a dot segment", "/v1/./secrets/" + key},
		{"a dot-dot segment", "/v1/secrets/../" + key},
		{"an unknown route", "/v1/nothing/" + key},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tt.path, nil)
			is.NoErr(err) // a request
			resp, err := c.Do(req)
			is.NoErr(err) // answered
			defer resp.Body.Close()
			dump, err := httputil.DumpResponse(resp, true)
			is.NoErr(err)                                            // and read whole
			is.True(resp.StatusCode < 300 || resp.StatusCode >= 400) // no redirect
			is.Equal(resp.Header.Get("Location"), "")                // nor a Location
			secretstest.NoLeak(t, string(dump), key)                 // the key is nowhere in the answer
		})
	}
}

// TestRoutesNoRedirectRepeatsAKey checks ServeMux's other redirect: a
// path without the trailing slash of a subtree route is redirected to
// the path with it, and a key pasted where the route's wildcard goes
// would come back in Location.
func TestRoutesNoRedirectRepeatsAKey(t *testing.T) {
	is := is.New(t)
	key := unknownKey(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/files/{id}/", func(w http.ResponseWriter, r *http.Request) {})
	w := httptest.NewRecorder()
	rotationhttp.Routes(mux, rotationhttp.WriteProblem).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/files/"+key, nil))
	is.True(w.Code < 300 || w.Code >= 400)   // no redirect
	is.Equal(w.Header().Get("Location"), "") // nor a Location
	secretstest.NoLeak(t, wire(w), key)      // the key is nowhere in the answer
}

func TestRoutesPanics(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mux    *http.ServeMux
		render rotationhttp.Renderer
	}{
		{"nil mux", nil, rotationhttp.WriteProblem},
		{"nil renderer", http.NewServeMux(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			defer func() {
				is.True(recover() != nil) // a programmer error panics
			}()
			rotationhttp.Routes(tt.mux, tt.render)
		})
	}
}
