package main

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// scope is the scope every route of this API needs.
const scope = "api_tokens"

// newHandler returns the API's routes, authenticated by the Rotator of
// env, with the rate limits of env's Limiter.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Limiter: env.Limiter, Logger: env.Log, Render: render})
	if err != nil {
		return nil, err
	}
	a, mux := &api{env.Rotator}, http.NewServeMux()
	mux.Handle("POST /api_tokens", rotationhttp.Handle(auth, scope, a.create))
	mux.Handle("GET /api_tokens", rotationhttp.Handle(auth, scope, a.list))
	mux.Handle("POST /api_tokens/api_token/regenerate_secret", rotationhttp.Handle(auth, scope, a.regenerate))
	return rotationhttp.Routes(mux, render), nil
}

// api serves the routes, each for the organization that owns the token
// the request came with. It is safe for concurrent use.
type api struct{ rot *rotation.Rotator }

// envelope is the body of a request or a reply about one token.
type envelope[T any] struct {
	APIToken T `json:"api_token"`
}

// fields are the members of a token that its creator chooses.
type fields struct {
	Name                  string                `json:"name"`
	AuthorizedIPAddresses rotationhttp.Networks `json:"authorized_ip_addresses"` // addresses and CIDR ranges
	ExpiresAt             rotationhttp.UnixTime `json:"expires_at"`              // null: never
	RateLimit             int                   `json:"rate_limit"`              // 0: no limit
	Scopes                []string              `json:"scopes"`
}

// members name the members of a creation that rotation's validation
// errors name by their Go fields.
var members = map[string]string{"Name": "api_token.name", "ExpiresAt": "api_token.expires_at",
	"RateLimit": "api_token.rate_limit", "Scopes": "api_token.scopes", "Networks": "api_token.authorized_ip_addresses"}

// create makes a token for the caller's organization. Its secret is in
// the reply, and nowhere else ever after.
func (a *api) create(r *http.Request, p rotation.Principal, req envelope[fields]) (int, any, error) {
	t := req.APIToken
	if t.Name == "" {
		return 0, nil, &rotation.ValidationError{Field: "api_token.name", Reason: "must be given"}
	}
	spec := rotation.Spec{Name: t.Name, Networks: t.AuthorizedIPAddresses, RateLimit: t.RateLimit,
		Scopes: t.Scopes, ExpiresAt: t.ExpiresAt.Time}
	if escalates(p, spec.Scopes) {
		return 0, nil, rotationhttp.ErrPermissionDenied
	}
	issued, err := a.rot.Create(r.Context(), p.Owner, spec)
	if err != nil {
		return 0, nil, rotationhttp.RenameFields(err, members)
	}
	return http.StatusOK, envelope[token]{view(issued.Secret, issued.Value.Reveal())}, nil
}

// list shows the organization's tokens, oldest first, expired ones too
// until rotation drops them.
func (a *api) list(r *http.Request, p rotation.Principal, _ struct{}) (int, any, error) {
	all, err := a.rot.List(r.Context(), p.Owner)
	if err != nil {
		return 0, nil, err
	}
	tokens := make([]token, 0, len(all))
	for _, s := range all {
		tokens = append(tokens, view(s, ""))
	}
	return http.StatusOK, map[string][]token{"api_tokens": tokens}, nil
}

// lookup names a token by its id.
type lookup struct {
	ID string `json:"id"`
}

// regenerate gives a token a new secret and keeps everything else about
// it. The old secret stops working at once: the document has no grace
// window.
func (a *api) regenerate(r *http.Request, p rotation.Principal, req envelope[lookup]) (int, any, error) {
	tok, err := a.rot.Get(r.Context(), p.Owner, req.APIToken.ID)
	if err != nil {
		return 0, nil, err
	}
	if escalates(p, tok.Scopes) {
		return 0, nil, rotationhttp.ErrPermissionDenied
	}
	re, err := a.rot.Regenerate(r.Context(), p.Owner, tok.ID, 0)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, envelope[token]{view(re.Secret, re.Value.Reveal())}, nil
}

// escalates reports whether p's token would hand on a scope it does not
// hold, by creating a token with it or by regenerating the secret of a
// token that has it. An empty scope is left for Create to refuse as
// invalid.
func escalates(p rotation.Principal, scopes []string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return s != "" && !p.Secret.HasScope(s) })
}

// token is a token as the API shows it: the members its creator chose,
// and its id, organization and, only in the answer to a creation or a
// regeneration, the one time it is shown, its secret.
type token struct {
	ID string `json:"id"`
	fields
	OrganizationID string `json:"organization_id"`
	Secret         string `json:"secret,omitempty"`
}

// view shows s as the API does, with secret if not empty.
func view(s rotation.Secret, secret string) token {
	return token{ID: s.ID, OrganizationID: s.Owner, Secret: secret, fields: fields{
		Name: s.Name, AuthorizedIPAddresses: s.Networks, ExpiresAt: rotationhttp.UnixTime{Time: s.ExpiresAt},
		RateLimit: s.RateLimit, Scopes: append([]string{}, s.Scopes...)}}
}

// render writes f as this API's errors are, {"code", "description",
// "detail"}, with the document's statuses where they differ from
// rotationhttp's. Conflicts the document has no code for are validation
// errors of the request.
func render(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
	switch f.Code {
	case rotationhttp.CodeMissingAPIToken:
		f.Status = http.StatusBadRequest
	case rotationhttp.CodeInvalidAPIToken:
		f.Status = http.StatusForbidden
	case rotationhttp.CodeAPITokenNotFound:
		f.Message = "no API token was found with this id" // rotationhttp's says secret
	case rotationhttp.CodeLimitReached:
		f = rotationhttp.FailureFor(&rotation.ValidationError{Field: "api_token",
			Reason: fmt.Sprintf("cannot be created: the organization has %d unexpired tokens, the most it may", f.Limit)})
	case rotationhttp.CodeSecretNotActive:
		f = rotationhttp.FailureFor(&rotation.ValidationError{Field: "api_token.id", Reason: "must name a token that has not expired"})
	}
	detail := map[string]any{}
	switch f.Code {
	case rotationhttp.CodeUnauthorizedNetwork:
		detail["ip_address"] = f.IP
	case rotationhttp.CodeScopeNotGranted:
		detail["scopes"] = []string{f.Scope}
	case rotationhttp.CodeRateLimitReached:
		detail["total_permitted"] = f.TotalPermitted
	case rotationhttp.CodeValidationError:
		detail["errors"] = f.FieldMessages()
	}
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, f.Status, map[string]any{"code": f.Code, "description": f.Message, "detail": detail})
}
