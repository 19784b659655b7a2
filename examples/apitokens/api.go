package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// scope is the scope every route of this API needs.
const scope = "api_tokens"

// maxExpiresAt is the latest expiry a token is given, 9999-12-31T23:59:59Z
// as a Unix time: a later one is taken as this one, which every store
// can hold.
const maxExpiresAt = 253402300799

// newHandler returns the API's routes, authenticated by the Rotator of
// env, with rate limits on env's clock.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Now: env.Now, Logger: env.Log, Render: render})
	if err != nil {
		return nil, err
	}
	a := &api{rot: env.Rotator, auth: auth}
	mux := http.NewServeMux()
	mux.Handle("POST /api_tokens", route(a, a.create))
	mux.Handle("GET /api_tokens", route(a, a.list))
	mux.Handle("POST /api_tokens/api_token/regenerate_secret", route(a, a.regenerate))
	return rotationhttp.Routes(mux, render), nil
}

// api serves the routes, each for the organization that owns the token
// the request came with. It is safe for concurrent use.
type api struct {
	rot  *rotation.Rotator
	auth *rotationhttp.Authenticator
}

// route admits to h the requests whose token holds [scope], with the body
// decoded into a Req, and answers with what h returns: 200 and its JSON,
// or its error in this API's shape.
func route[Req any](a *api, h func(context.Context, rotation.Principal, Req) (any, error)) http.Handler {
	return a.auth.Require(scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rotationhttp.FromContext(r.Context())
		var req Req
		if err := rotationhttp.DecodeJSON(r, &req); err != nil {
			a.auth.Error(w, r, err)
		} else if reply, err := h(r.Context(), p, req); err != nil {
			a.auth.Error(w, r, err)
		} else {
			rotationhttp.WriteJSON(w, http.StatusOK, reply)
		}
	}))
}

// envelope is the body of a request or a reply about one token.
type envelope[T any] struct {
	APIToken T `json:"api_token"`
}

// fields are the members of a token that its creator chooses.
type fields struct {
	Name                  string   `json:"name"`
	AuthorizedIPAddresses []string `json:"authorized_ip_addresses"`
	ExpiresAt             *int64   `json:"expires_at"` // null: never
	RateLimit             int      `json:"rate_limit"` // 0: no limit
	Scopes                []string `json:"scopes"`
}

// create makes a token for the caller's organization. Its secret is in
// the reply, and nowhere else ever after.
func (a *api) create(ctx context.Context, p rotation.Principal, req envelope[fields]) (any, error) {
	t := req.APIToken
	if t.Name == "" {
		return nil, invalid("api_token.name", "must be given")
	}
	spec := rotation.Spec{Name: t.Name, RateLimit: t.RateLimit, Scopes: t.Scopes}
	for i, s := range t.AuthorizedIPAddresses {
		n, ok := network(s)
		if !ok {
			return nil, invalid(fmt.Sprintf("api_token.authorized_ip_addresses[%d]", i), "must be an IPv4 or IPv6 address or CIDR range")
		}
		spec.Networks = append(spec.Networks, n)
	}
	if t.ExpiresAt != nil {
		spec.ExpiresAt = time.Unix(min(*t.ExpiresAt, maxExpiresAt), 0).UTC()
	}
	if escalates(p, spec.Scopes) {
		return nil, rotationhttp.ErrPermissionDenied
	}
	issued, err := a.rot.Create(ctx, p.Owner, spec)
	if ve, ok := errors.AsType[*rotation.ValidationError](err); ok {
		return nil, invalid(cmp.Or(members[ve.Field], ve.Field), ve.Reason)
	}
	if err != nil {
		return nil, err
	}
	return envelope[token]{view(issued.Secret, issued.Value.Reveal())}, nil
}

// members name the members of a creation that rotation's validation
// errors name by their Go fields.
var members = map[string]string{"Name": "api_token.name", "ExpiresAt": "api_token.expires_at",
	"RateLimit": "api_token.rate_limit", "Scopes": "api_token.scopes", "Networks": "api_token.authorized_ip_addresses"}

// network reads an address, which stands for one host (/32 or /128), or a
// CIDR range, whose host bits it drops.
func network(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	ip, err := netip.ParseAddr(s)
	ip = ip.Unmap() // clients are matched by their IPv4 address
	return netip.PrefixFrom(ip, ip.BitLen()), err == nil
}

// list shows the organization's tokens, oldest first, expired ones too
// until rotation drops them.
func (a *api) list(ctx context.Context, p rotation.Principal, _ struct{}) (any, error) {
	all, err := a.rot.List(ctx, p.Owner)
	if err != nil {
		return nil, err
	}
	tokens := make([]token, 0, len(all))
	for _, s := range all {
		tokens = append(tokens, view(s, ""))
	}
	return map[string][]token{"api_tokens": tokens}, nil
}

// lookup names a token by its id.
type lookup struct {
	ID string `json:"id"`
}

// regenerate gives a token a new secret and keeps everything else about
// it. The old secret stops working at once: the document has no grace
// window.
func (a *api) regenerate(ctx context.Context, p rotation.Principal, req envelope[lookup]) (any, error) {
	tok, err := a.rot.Get(ctx, p.Owner, req.APIToken.ID)
	if err != nil {
		return nil, err
	}
	if escalates(p, tok.Scopes) {
		return nil, rotationhttp.ErrPermissionDenied
	}
	re, err := a.rot.Regenerate(ctx, p.Owner, tok.ID, 0)
	if err != nil {
		return nil, err
	}
	return envelope[token]{view(re.Secret, re.Value.Reveal())}, nil
}

// escalates reports whether p's token would hand on a scope it does not
// hold, by creating a token with it or by regenerating the secret of a
// token that has it. An empty scope is left for Create to refuse as
// invalid.
func escalates(p rotation.Principal, scopes []string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return s != "" && !p.Secret.HasScope(s) })
}

// invalid returns the validation error of a member, named by its path.
func invalid(field, reason string) error {
	return &rotation.ValidationError{Field: field, Reason: reason}
}

// token is a token as the API shows it. Secret is set only in the answer
// to a creation or a regeneration, the one time it is shown.
type token struct {
	ID                    string         `json:"id"`
	Name                  string         `json:"name"`
	OrganizationID        string         `json:"organization_id"`
	AuthorizedIPAddresses []netip.Prefix `json:"authorized_ip_addresses"`
	ExpiresAt             *int64         `json:"expires_at"`
	RateLimit             int            `json:"rate_limit"`
	Scopes                []string       `json:"scopes"`
	Secret                string         `json:"secret,omitempty"`
}

// view shows s as the API does, with secret if not empty.
func view(s rotation.Secret, secret string) token {
	t := token{ID: s.ID, Name: s.Name, OrganizationID: s.Owner, RateLimit: s.RateLimit, Secret: secret,
		AuthorizedIPAddresses: append([]netip.Prefix{}, s.Networks...), Scopes: append([]string{}, s.Scopes...)}
	if !s.ExpiresAt.IsZero() {
		t.ExpiresAt = new(s.ExpiresAt.Unix())
	}
	return t
}

// createOwner creates the organization name with its first token, which
// holds every scope the routes need, and returns the shell assignments
// owner=… and secret=…, the name quoted so that eval gives it back
// whatever it holds.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	issued, err := env.Rotator.Create(ctx, name, rotation.Spec{Name: "owner", Scopes: []string{scope}})
	if err != nil {
		return nil, err
	}
	return []string{"owner='" + strings.ReplaceAll(name, "'", `'\''`) + "'", "secret=" + issued.Value.Reveal()}, nil
}
