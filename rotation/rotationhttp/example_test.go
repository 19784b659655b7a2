package rotationhttp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/memstore"
)

// An error from the Rotator becomes the Failure that answers it, which
// WriteError sends as a problem.
func ExampleFailureFor() {
	err := &rotation.SecretError{Op: "delete", Owner: "acme", ID: "sec_123", Err: rotation.ErrDesignated}

	f := rotationhttp.FailureFor(err)
	fmt.Println(f.Status, f.Code, f.ResourceType, f.ResourceID)

	w := httptest.NewRecorder()
	rotationhttp.WriteError(w, httptest.NewRequest(http.MethodDelete, "/v1/secrets/sec_123", nil), err)
	fmt.Println(w.Header().Get("Content-Type"))
	fmt.Print(w.Body)
	// Output:
	// 409 designated_secret secret sec_123
	// application/problem+json
	// {"type":"about:blank","title":"Conflict","status":409,"detail":"the secret signs webhooks, so it cannot be deleted or revoked","instance":"/v1/secrets/sec_123","code":"designated_secret","resourceType":"secret","resourceId":"sec_123"}
}

// A handler answers with a Failure of its own making.
func ExampleWriteProblem() {
	w := httptest.NewRecorder()
	rotationhttp.WriteProblem(w, httptest.NewRequest(http.MethodPost, "/v1/secrets", nil), rotationhttp.Failure{
		Status: http.StatusUnauthorized,
		Code:   rotationhttp.CodeInvalidAPIToken,
		Realm:  "integrator",
		Scope:  "secrets:write",
	})
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body)
	// Output:
	// 401 Bearer realm="integrator", error="invalid_token", scope="secrets:write"
	// {"type":"about:blank","title":"Unauthorized","status":401,"instance":"/v1/secrets","code":"invalid_api_token","realm":"integrator","scope":"secrets:write"}
}

// A service whose API answers errors in a shape of its own, here
// {"code", "description", "detail"} with a missing key a 400 and an
// invalid one a 403, writes a Renderer in a few lines. An Authenticator
// whose Options name it answers every refusal in that shape, and so does
// every error handed to its Error, and Routes given its Render.
func ExampleRenderer() {
	render := func(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
		switch f.Code {
		case rotationhttp.CodeMissingAPIToken:
			f.Status = http.StatusBadRequest
		case rotationhttp.CodeInvalidAPIToken:
			f.Status = http.StatusForbidden
		}
		detail := map[string]any{}
		if f.TotalPermitted > 0 {
			detail["total_permitted"] = f.TotalPermitted
		}
		f.SetHeaders(w.Header())
		rotationhttp.WriteJSON(w, f.Status, map[string]any{"code": f.Code, "description": f.Message, "detail": detail})
	}

	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	rot, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	limiter, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Limiter: limiter, Render: render})
	if err != nil {
		log.Fatal(err)
	}
	key, err := rot.Create(ctx, "org_42", rotation.Spec{Scopes: []string{"api_tokens"}, RateLimit: 1})
	if err != nil {
		log.Fatal(err)
	}
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api_tokens", auth.Require("api_tokens", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Error(w, r, &rotation.SecretError{Op: "get", Owner: "org_42", ID: "sec_123", Err: rotation.ErrNotFound})
	})))
	srv := rotationhttp.Routes(mux, auth.Render)

	for _, req := range []struct{ path, key string }{
		{"/api_tokens", ""},
		{"/api_tokens", unknown.Reveal()},
		{"/api_tokens", key.Value.Reveal()},
		{"/api_tokens", key.Value.Reveal()}, // over its limit of one a minute
		{"/nothing", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, req.path, nil)
		if req.key != "" {
			r.Header.Set("Authorization", "Bearer "+req.key)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 400 {"code":"missing_api_token","description":"no API token was given","detail":{}}
	// 403 {"code":"invalid_api_token","description":"the API token is not valid","detail":{}}
	// 404 {"code":"api_token_not_found","description":"the secret was not found","detail":{}}
	// 429 {"code":"rate_limit_reached","description":"the rate limit of the API token was reached","detail":{"total_permitted":1}}
	// 404 {"code":"not_found","description":"no such route","detail":{}}
}

// Only requests with a valid key granted the route's scope reach the
// handler, which finds whose key it was in the context.
func ExampleAuthenticator_Require() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	rot, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	limiter, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Realm: "example", Limiter: limiter})
	if err != nil {
		log.Fatal(err)
	}
	key, err := rot.Create(ctx, "org_42", rotation.Spec{Scopes: []string{"secrets:read"}, RateLimit: 1})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /v1/secrets", auth.Require("secrets:read", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rotationhttp.FromContext(r.Context())
		fmt.Fprintln(w, "secrets of", p.Owner)
	})))
	get := func(authorization string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/secrets", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Header().Get("Retry-After"), strings.TrimSpace(w.Body.String()))
	}

	get("")
	get("Bearer " + key.Value.Reveal())
	get("Bearer " + key.Value.Reveal()) // over its limit of one a minute
	clock.Advance(time.Minute)
	get("Bearer " + key.Value.Reveal())
	// Output:
	// 401 Bearer realm="example", scope="secrets:read"  {"type":"about:blank","title":"Unauthorized","status":401,"detail":"no API token was given","instance":"/v1/secrets","code":"missing_api_token","realm":"example","scope":"secrets:read"}
	// 200   secrets of org_42
	// 429  60 {"type":"about:blank","title":"Too Many Requests","status":429,"detail":"the rate limit of the API token was reached","instance":"/v1/secrets","code":"rate_limit_reached","total_permitted":1}
	// 200   secrets of org_42
}

// Routes answers what ServeMux would answer itself in the service's
// shape, and never redirects a path that is not clean: the redirect would
// repeat a key pasted into the URL.
func ExampleRoutes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/secrets/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "secret", r.PathValue("id"))
	})
	srv := rotationhttp.Routes(mux, rotationhttp.WriteProblem)
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/secrets/sec_123"},
		{http.MethodDelete, "/v1/secrets/sec_123"},
		{http.MethodGet, "//v1//secrets//sk_live_pasted_where_an_id_goes"},
	} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(req.method, req.path, nil))
		fmt.Printf("%d %q %q %s", w.Code, w.Header().Get("Allow"), w.Header().Get("Location"), w.Body)
	}
	// Output:
	// 200 "" "" secret sec_123
	// 405 "GET, HEAD" "" {"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"the route does not take this method","instance":"/v1/secrets/sec_123","code":"method_not_allowed"}
	// 404 "" "" {"type":"about:blank","title":"Not Found","status":404,"detail":"no such route","instance":"//v1//secrets//REDACTED","code":"not_found","resourceType":"route","resourceId":"//v1//secrets//REDACTED"}
}

// The body of a regenerate request gives the grace window, or an error
// that names the field.
func ExampleDecodeRegenerate() {
	for _, body := range []string{``, `{"oldSecretValidForSeconds": 600}`, `{"oldSecretValidForSeconds": 1.5}`} {
		r := httptest.NewRequest(http.MethodPost, "/v1/integrator/regenerate-secret", strings.NewReader(body))
		grace, err := rotationhttp.DecodeRegenerate(r, rotation.DefaultMaxGracePeriod)
		if err != nil {
			f := rotationhttp.FailureFor(err)
			fmt.Println(errors.Is(err, rotation.ErrValidation), f.Status, f.Fields)
			continue
		}
		fmt.Println(grace)
	}
	// Output:
	// 0s
	// 10m0s
	// true 422 [{oldSecretValidForSeconds must be a whole number of seconds from 0 to 3600}]
}

// A create request's body decodes into the handler's own struct, as
// strictly: a member it does not have is named by its path.
func ExampleDecodeJSON() {
	var req struct {
		APIToken struct {
			Name string `json:"name"`
		} `json:"api_token"`
	}
	r := httptest.NewRequest(http.MethodPost, "/api_tokens", strings.NewReader(`{"api_token": {"name": "CI", "colour": "red"}}`))
	err := rotationhttp.DecodeJSON(r, &req)
	fmt.Println(err)
	fmt.Println(rotationhttp.FailureFor(err).Fields)
	// Output:
	// rotationhttp: invalid api_token.colour: is not a member of this request
	// [{api_token.colour is not a member of this request}]
}
