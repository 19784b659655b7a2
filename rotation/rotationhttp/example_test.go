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
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/memstore"
)

// An error from the Rotator becomes the problem that answers it.
func ExampleProblemFor() {
	err := &rotation.SecretError{Op: "delete", Owner: "acme", ID: "sec_123", Err: rotation.ErrDesignated}

	p := rotationhttp.ProblemFor(err)
	fmt.Println(p.Status, p.Code, p.ResourceType, p.ResourceID)

	w := httptest.NewRecorder()
	rotationhttp.WriteError(w, httptest.NewRequest(http.MethodDelete, "/v1/secrets/sec_123", nil), err)
	fmt.Println(w.Header().Get("Content-Type"))
	fmt.Print(w.Body)
	// Output:
	// 409 designated_secret secret sec_123
	// application/problem+json
	// {"type":"about:blank","title":"Conflict","status":409,"detail":"the secret signs webhooks, so it cannot be deleted or revoked; designate another secret first","instance":"/v1/secrets/sec_123","code":"designated_secret","resourceType":"secret","resourceId":"sec_123"}
}

// A handler answers with a problem of its own making.
func ExampleWriteProblem() {
	w := httptest.NewRecorder()
	rotationhttp.WriteProblem(w, &rotationhttp.Problem{
		Status: http.StatusUnauthorized,
		Code:   rotationhttp.CodeInvalidAPIToken,
		Realm:  "integrator",
		Scope:  "secrets:write",
	})
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body)
	// Output:
	// 401 Bearer realm="integrator", error="invalid_token", scope="secrets:write"
	// {"type":"about:blank","title":"Unauthorized","status":401,"code":"invalid_api_token","realm":"integrator","scope":"secrets:write"}
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
	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Realm: "example", Now: clock.Now})
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
	// 401 Bearer realm="example", scope="secrets:read"  {"type":"about:blank","title":"Unauthorized","status":401,"detail":"no API token was given in the Authorization header; send it prefixed with Bearer","instance":"/v1/secrets","code":"missing_api_token","realm":"example","scope":"secrets:read"}
	// 200   secrets of org_42
	// 429  60 {"type":"about:blank","title":"Too Many Requests","status":429,"detail":"the API token allows 1 request a minute; retry after 60 s","instance":"/v1/secrets","code":"rate_limit_reached","total_permitted":1}
	// 200   secrets of org_42
}

// The body of a regenerate request gives the grace window, or an error
// that names the field.
func ExampleDecodeRegenerate() {
	for _, body := range []string{``, `{"oldSecretValidForSeconds": 600}`, `{"oldSecretValidForSeconds": 1.5}`} {
		r := httptest.NewRequest(http.MethodPost, "/v1/integrator/regenerate-secret", strings.NewReader(body))
		grace, err := rotationhttp.DecodeRegenerate(r, rotation.DefaultMaxGracePeriod)
		if err != nil {
			p := rotationhttp.ProblemFor(err)
			fmt.Println(errors.Is(err, rotation.ErrValidation), p.Status, p.Errors)
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
// strictly.
func ExampleDecodeJSON() {
	var req struct {
		Name string `json:"name"`
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/secrets", strings.NewReader(`{"name": "CI", "secret": "mine"}`))
	err := rotationhttp.DecodeJSON(r, &req)
	fmt.Println(err)
	// Output:
	// rotationhttp: invalid secret: is not a member of this request
}
