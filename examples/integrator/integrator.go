package main

import (
	"errors"
	"net/http"
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
	// refuse answers every error of the route, as auth does, naming the
	// route's scope in a 401 whether a key or a signature was refused.
	refuse func(http.ResponseWriter, *http.Request, error)
}

// newHandler returns the service's routes over env.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Realm: realm, Limiter: env.Limiter, Logger: env.Log})
	if err != nil {
		return nil, err
	}
	verifier, err := hmacsign.NewVerifier(env.Rotator, &hmacsign.VerifierOptions{Now: env.Now, Replay: env.Replay})
	if err != nil {
		return nil, err
	}
	refuse := auth.ErrorFor(scope)
	signed, err := hmacsign.Middleware(verifier, integrator, &hmacsign.MiddlewareOptions{MaxBody: rotationhttp.MaxBody, Error: refuse})
	if err != nil {
		return nil, err
	}
	s := &server{rot: env.Rotator, auth: auth, signed: signed, refuse: refuse}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/integrator/regenerate-secret", s.regenerateSecret)
	return rotationhttp.Routes(mux, auth.Render), nil
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
	if r.Header.Get("Webhook-Signature") != "" {
		s.regenerateSigned(w, r)
		return
	}
	p, err := s.auth.Authenticate(r, scope)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	// The value current when the key was authenticated, read with it.
	s.regenerate(w, r, p.Owner, p.Secret.ID, p.Secret.Current.ID)
}

// regenerateSigned serves a signed request. hmacsign tells which secret
// signed, not which of its values, so the secrets are read before the
// signature is checked: if another request regenerates meanwhile, this
// one loses instead of ending the value that one handed out. The package
// doc says what that guarantees across replicas.
func (s *server) regenerateSigned(w http.ResponseWriter, r *http.Request) {
	// A name no store could hold has no secrets, and fails verification.
	before, err := s.rot.List(r.Context(), r.Header.Get(ownerHeader))
	if err != nil && !errors.Is(err, rotation.ErrValidation) {
		s.refuse(w, r, err)
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
		s.refuse(w, r, err)
		return
	}
	res, err := s.rot.RegenerateIf(r.Context(), owner, id, valueID, grace)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	reply := map[string]string{"secret": res.Value.Reveal()}
	if grace > 0 {
		reply["oldSecretExpiresAt"] = res.Old.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	rotationhttp.WriteJSON(w, http.StatusOK, reply)
}
