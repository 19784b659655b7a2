package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// Each handler runs behind Authenticator.Require, so the caller's key has
// been checked (shape, checksum, status, network, scope, rate limit)
// before it starts, and rotationhttp.FromContext names the owner. Owners
// never reach each other's secrets: every call below is made for p.Owner,
// and an id of another owner's secret is simply not found.
//
// Every error goes to s.auth.Error, which answers with the RFC 9457
// problem that rotationhttp.ProblemFor maps it to (404, 409, 422, 503, …)
// and logs it. No handler turns an error into text of its own.

// regenerateOwn is the integrator API: the caller regenerates the secret
// it authenticated with, by that secret's id, and gets back the new value
// and, if it asked for a grace window, when the old one stops working.
//
//	POST /v1/integrator/regenerate-secret {"oldSecretValidForSeconds": 600}
func (s *Server) regenerateOwn(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	// DecodeRegenerate refuses a fraction, a string, a negative number,
	// more than the policy allows, unknown members and malformed JSON,
	// before anything is changed.
	grace, err := rotationhttp.DecodeRegenerate(r, s.rot.Policy().MaxGracePeriod)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	// Only if the secret's value is still the one that was current when
	// the caller was let in: of several requests racing with the same
	// key, one regenerates and the others get 412 secret_changed, instead
	// of each being handed a value that the next one has already replaced
	// (and, with no grace window, killed). A caller let in with a previous
	// value, still in its window, names the current one all the same, so
	// one whose reply to a regeneration was lost can regenerate again.
	res, err := s.rot.RegenerateIf(r.Context(), p.Owner, p.Secret.ID, p.Secret.Current.ID, grace)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, shownOnceOf(res, grace))
}

// listSecrets shows the caller's secrets, one entry each: metadata,
// status and the values still in a grace window, never a value itself,
// which the store does not even hold in plaintext.
//
//	GET /v1/secrets
func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	list, err := s.rot.List(r.Context(), p.Owner)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	out := make([]secretView, 0, len(list)) // [] rather than null when empty
	for _, sec := range list {
		out = append(out, viewOf(sec))
	}
	s.reply(w, r, http.StatusOK, out)
}

// createSecret makes another secret for the caller. The Rotator enforces
// the limit of three active secrets; the previous values of a
// regenerated one, in their grace windows, do not count against it.
//
//	POST /v1/secrets {"name": "CI"}
func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	var req struct {
		Name string `json:"name"`
	}
	if err := rotationhttp.DecodeJSON(r, &req); err != nil {
		s.auth.Error(w, r, err)
		return
	}
	// The handler checks the name itself, although the Rotator would
	// refuse it too, so that the 422 names the JSON member "name" rather
	// than the Spec field "Name". The bound is the Rotator's own.
	if req.Name == "" || len(req.Name) > rotation.MaxNameLen {
		s.auth.Error(w, r, &rotation.ValidationError{
			Field:  "name",
			Reason: fmt.Sprintf("must be from 1 to %d bytes", rotation.MaxNameLen),
		})
		return
	}
	iss, err := s.rot.Create(r.Context(), p.Owner, s.spec(req.Name))
	if err != nil {
		s.auth.Error(w, r, err) // 409 limit_reached with the limit
		return
	}
	s.reply(w, r, http.StatusCreated, issuedView{
		secretView: viewOf(iss.Secret),
		shownOnce:  shownOnce{Secret: iss.Value.Reveal()}, // the one time it is shown
	})
}

// regenerateSecret gives any of the caller's active secrets a new value,
// as the portal's "Regenerate" button does; the secret keeps its id, name
// and designation. Custom secrets answer 409.
//
//	POST /v1/secrets/{id}/regenerate {"oldSecretValidForSeconds": 600}
func (s *Server) regenerateSecret(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	grace, err := rotationhttp.DecodeRegenerate(r, s.rot.Policy().MaxGracePeriod)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	res, err := s.rot.Regenerate(r.Context(), p.Owner, r.PathValue("id"), grace)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, issuedView{secretView: viewOf(res.Secret), shownOnce: shownOnceOf(res, grace)})
}

// useForWebhooks moves the webhook signing designation to another active
// secret, and shows that secret.
//
//	POST /v1/secrets/{id}/use-for-webhooks
func (s *Server) useForWebhooks(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	id := r.PathValue("id")
	if err := s.rot.SetSigning(r.Context(), p.Owner, id); err != nil {
		s.auth.Error(w, r, err) // 404, or 409 for a secret that is not active or cannot sign
		return
	}
	sec, err := s.rot.Get(r.Context(), p.Owner, id)
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, viewOf(sec))
}

// deleteSecret removes a secret for good; its key stops working at once.
// The designated secret cannot go until another is designated.
//
//	DELETE /v1/secrets/{id}
func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	if err := s.rot.Delete(r.Context(), p.Owner, r.PathValue("id")); err != nil {
		s.auth.Error(w, r, err) // 404 with resourceId, or 409 designated_secret
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testWebhook signs a test event as a real delivery would be signed and
// returns the headers and body instead of sending them, so a customer
// can check its verifier. While the designated secret's previous value
// is in its grace window, webhook-signature carries two signatures: the
// current value's and the previous one's.
//
//	POST /v1/webhooks/test
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	if err := rotationhttp.DecodeJSON(r, &struct{}{}); err != nil {
		s.auth.Error(w, r, err) // the body may be empty or {}; anything else is 422
		return
	}
	payload, err := json.Marshal(testEvent{
		Type:      "webhook.test",
		Timestamp: stamp(s.now()),
		Data:      map[string]string{"owner": p.Owner},
	})
	if err != nil {
		s.auth.Error(w, r, err)
		return
	}
	// An empty message id gets a fresh one, as each delivery should.
	msg, err := s.signer.Sign(r.Context(), p.Owner, "", payload)
	if err != nil {
		s.auth.Error(w, r, err) // 409 no_signing_secret if none can sign
		return
	}
	signed := make(http.Header)
	s.signer.SetHeaders(signed, msg)
	headers := make(map[string]string, len(signed))
	for name, values := range signed {
		headers[strings.ToLower(name)] = values[0] // as Standard Webhooks spells them
	}
	s.reply(w, r, http.StatusOK, webhookView{Headers: headers, Body: string(payload)})
}

// reply sends v as JSON. Cache-Control: no-store, since a reply may hold a
// secret, and none of them should sit in a proxy or a browser cache.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.auth.Error(w, r, err) // a 500 that says nothing more
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
