package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

const (
	// realm is the protection space that 401 problems and challenges name.
	realm = "integrator"
	// scope is what the route needs of a bearer key; every integrator's
	// secret is created with it.
	scope = "integrator:secret"
	// ownerHeader names the integrator whose secret signed a request.
	ownerHeader = "Integrator-Id"
)

// server answers the integrator API. It is safe for concurrent use; make
// one with newHandler.
type server struct {
	rot    *rotation.Rotator
	auth   *rotationhttp.Authenticator
	signed func(http.Handler) http.Handler // hmacsign's middleware
}

// newHandler returns the service's routes over env.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Realm: realm, Now: env.Now, Logger: env.Log, Render: render})
	if err != nil {
		return nil, err
	}
	guard, err := hmacsign.NewMemoryReplayGuard(0, env.Now)
	if err != nil {
		return nil, err
	}
	verifier, err := hmacsign.NewVerifier(env.Rotator, &hmacsign.VerifierOptions{Now: env.Now, Replay: guard})
	if err != nil {
		return nil, err
	}
	signed, err := hmacsign.Middleware(verifier, integrator, &hmacsign.MiddlewareOptions{MaxBody: rotationhttp.MaxBody, Error: auth.Error})
	if err != nil {
		return nil, err
	}
	s := &server{rot: env.Rotator, auth: auth, signed: signed}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/integrator/regenerate-secret", s.regenerateSecret)
	return rotationhttp.Routes(mux, render), nil
}

// render writes problems as the seed gives them. A refused signature
// carries no scope of its own, and there is one route, so every 401 names
// its scope; a 500 says no more than its title.
func render(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
	switch f.Status {
	case http.StatusUnauthorized:
		f.Scope = scope
	case http.StatusInternalServerError:
		f.Message = ""
	}
	rotationhttp.WriteProblem(w, r, f)
}

// integrator returns the integrator a signed request names. Without one,
// hmacsign refuses the request as unknown_owner, and keeps this error's
// text out of the answer.
func integrator(r *http.Request) (string, error) {
	if owner := r.Header.Get(ownerHeader); owner != "" {
		return owner, nil
	}
	return "", errors.New("no " + ownerHeader + " header")
}

// regenerateSecret serves POST /v1/integrator/regenerate-secret, for a
// request signed with the integrator's secret or, without a
// webhook-signature header, one that presents it as a bearer key.
func (s *server) regenerateSecret(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Webhook-Signature") == "" {
		p, err := s.auth.Authenticate(r, scope)
		if err != nil {
			s.auth.Error(w, r, err)
			return
		}
		s.regenerate(w, r, p.Owner, p.Secret.ID, p.Secret.Current.ID)
		return
	}
	// The secrets as they are before the signature is checked: the value
	// that signed was valid then, so if another request regenerates
	// meanwhile, this one loses instead of ending the value that one
	// handed out. A name no store could hold has no secrets, and fails
	// verification.
	before, err := s.rot.List(r.Context(), r.Header.Get(ownerHeader))
	if err != nil && !errors.Is(err, rotation.ErrValidation) {
		s.auth.Error(w, r, err)
		return
	}
	s.signed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := hmacsign.FromContext(r.Context())
		// A secret not there when read is not regenerated: RegenerateIf
		// says it is not found, or, if made since, that it changed.
		valueID := "none"
		for _, sec := range before {
			if sec.ID == v.KeyID { // hmacsign's key ids are secret ids
				valueID = sec.Current.ID
			}
		}
		s.regenerate(w, r, v.Owner, v.KeyID, valueID)
	})).ServeHTTP(w, r)
}

// regenerate gives the owner's secret id a new value if its current one is
// still valueID, ends the old one after the grace window the body asks
// for, and answers with the new value, this once.
func (s *server) regenerate(w http.ResponseWriter, r *http.Request, owner, id, valueID string) {
	grace, err := rotationhttp.DecodeRegenerate(r, s.rot.Policy().MaxGracePeriod)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	res, err := s.rot.RegenerateIf(r.Context(), owner, id, valueID, grace)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	reply := map[string]string{"secret": res.Value.Reveal()}
	if grace > 0 {
		reply["oldSecretExpiresAt"] = res.Old.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	rotationhttp.WriteJSON(w, http.StatusOK, reply)
}

// ownerName is what an integrator's name may be: text that a shell
// assignment and an HTTP header carry as it is.
var ownerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// createOwner creates the integrator name with its secret, which can
// verify HMACs and holds the route's scope, and returns the shell
// assignments that show them, this once.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	if !ownerName.MatchString(name) {
		return nil, errors.New("an integrator's name is 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	if existing, err := env.Rotator.List(ctx, name); err != nil || len(existing) > 0 {
		return nil, cmp.Or(err, fmt.Errorf("integrator %s exists already", name)) // the first that is not nil
	}
	iss, err := env.Rotator.Create(ctx, name, rotation.Spec{Name: "API secret", HMAC: true, Scopes: []string{scope}})
	if err != nil {
		return nil, err
	}
	return []string{"owner=" + name, "secret=" + iss.Value.Reveal()}, nil
}
