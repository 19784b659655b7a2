package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets"
)

// ownerPermissions are the permissions of the routes, kept as the keys'
// scopes: the permissions object {"account:api:key": ["read", "update"]}
// is the scopes account:api:key:read and account:api:key:update.
// -create-owner's keys hold them all.
var ownerPermissions = []string{"account:api:key:create", "account:api:key:read", "account:api:key:update", "account:api:key:delete"}

// rateLimit is the requests a minute every key may make. A key keeps its
// budget through regenerations.
const rateLimit = 100

// prefixes are the key prefixes of the document's key types.
var prefixes = map[string]string{"SECRET": "sk", "PUBLISHABLE": "pk"}

// types are the document's key types of the key prefixes.
var types = map[string]string{"sk": "SECRET", "pk": "PUBLISHABLE"}

// api serves the routes. It is safe for concurrent use.
type api struct {
	rot  *rotation.Rotator
	auth *rotationhttp.Authenticator
}

// newHandler returns the service's routes, under the document's base path
// /v1/api-keys. Every other path is a 404 in the document's envelope.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Realm: "hsrcpay", Now: env.Now, Logger: env.Log, Render: render})
	if err != nil {
		return nil, err
	}
	a, mux := &api{env.Rotator, auth}, http.NewServeMux()
	mux.Handle("POST /v1/api-keys", a.route("account:api:key:create", http.StatusCreated, a.create))
	mux.Handle("GET /v1/api-keys", a.route("account:api:key:read", http.StatusOK, a.list))
	mux.Handle("GET /v1/api-keys/{id}", a.route("account:api:key:read", http.StatusOK, a.get))
	mux.Handle("DELETE /v1/api-keys/{id}", a.route("account:api:key:delete", http.StatusOK, a.delete))
	mux.Handle("POST /v1/api-keys/{id}/regenerate", a.route("account:api:key:update", http.StatusOK, a.regenerate))
	return rotationhttp.Routes(mux, render), nil
}

// route serves h to requests whose secret key was granted permission, and
// sends what h returns as the data of a success with status. Publishable
// keys are refused before they are looked up.
func (a *api) route(permission string, status int, h func(*http.Request, rotation.Principal) (any, error)) http.Handler {
	next := a.auth.Require(permission, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rotationhttp.FromContext(r.Context())
		if data, err := h(r, p); err != nil {
			a.auth.Error(w, r, err)
		} else {
			rotationhttp.WriteJSON(w, status, map[string]any{"message": "success", "success": true, "data": data})
		}
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publishable(r.Header.Get("Authorization")) {
			render(w, r, rotationhttp.Failure{Status: http.StatusForbidden, Code: codePublishableKey})
		} else {
			next.ServeHTTP(w, r)
		}
	})
}

// publishable reports whether the bearer token of the Authorization
// header authz is a publishable key, as the document tells keys apart:
// "pk_", and no "sk_", within its first 32 characters. It reads the header
// as [rotationhttp.Authenticator] does, so the token checked is the one it
// would look up.
func publishable(authz string) bool {
	_, token, _ := strings.Cut(strings.TrimSpace(authz), " ")
	token = strings.TrimLeft(token, " ")
	head := token[:min(len(token), 32)]
	return strings.Contains(head, "pk_") && !strings.Contains(head, "sk_")
}

// createRequest is the body of POST /v1/api-keys.
type createRequest struct {
	Name        string                     `json:"name"`
	Type        string                     `json:"type"`    // SECRET or PUBLISHABLE
	Managed     *bool                      `json:"managed"` // absent: true
	Permissions map[string][]string        `json:"permissions"`
	Metadata    map[string]json.RawMessage `json:"metadata"`
	ExpiresAt   time.Time                  `json:"expires_at"` // RFC 3339; absent or null: never
}

// create makes a key in the environment of the key that asks, with none of
// the permissions that key lacks. Each metadata member is kept as its JSON
// text; each permission as the scope "<resource>:<action>".
func (a *api) create(r *http.Request, p rotation.Principal) (any, error) {
	var req createRequest
	if err := rotationhttp.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	prefix, ok := prefixes[req.Type]
	if !ok {
		return nil, &rotation.ValidationError{Field: "type", Reason: "must be SECRET or PUBLISHABLE"}
	}
	spec := rotation.Spec{Name: req.Name, Format: secrets.Format(prefix + "_" + p.Secret.Format.Env()),
		Custom: req.Managed != nil && !*req.Managed, RateLimit: rateLimit, Metadata: map[string]string{}, ExpiresAt: req.ExpiresAt}
	for _, resource := range slices.Sorted(maps.Keys(req.Permissions)) {
		for _, action := range req.Permissions[resource] {
			spec.Scopes = append(spec.Scopes, resource+":"+action)
		}
	}
	if slices.ContainsFunc(spec.Scopes, func(s string) bool { return !p.Secret.HasScope(s) }) {
		return nil, rotationhttp.ErrPermissionDenied // a key cannot grant what it does not hold
	}
	for name, raw := range req.Metadata {
		spec.Metadata[name] = string(raw)
	}
	k, err := a.rot.Create(r.Context(), p.Owner, spec)
	if err != nil {
		return nil, err
	}
	return view(k.Secret, k.Value.Reveal()), nil
}

// list shows the keys of the environment, oldest first.
func (a *api) list(r *http.Request, p rotation.Principal) (any, error) {
	keys, err := a.rot.List(r.Context(), p.Owner)
	views := []map[string]any{}
	for _, k := range keys {
		views = append(views, view(k, ""))
	}
	return views, err
}

// get shows one key of the environment.
func (a *api) get(r *http.Request, p rotation.Principal) (any, error) {
	k, err := a.rot.Get(r.Context(), p.Owner, r.PathValue("id"))
	return view(k, ""), err
}

// delete deletes a key, managed or custom, for good.
func (a *api) delete(r *http.Request, p rotation.Principal) (any, error) {
	id := r.PathValue("id")
	return map[string]any{"object": "api_key", "id": id, "deleted": true}, a.rot.Delete(r.Context(), p.Owner, id)
}

// regenerate gives a managed key a new value; the old one dies at once.
func (a *api) regenerate(r *http.Request, p rotation.Principal) (any, error) {
	k, err := a.rot.Regenerate(r.Context(), p.Owner, r.PathValue("id"), 0)
	if err != nil {
		return nil, err
	}
	return view(k.Secret, k.Value.Reveal()), nil
}

// view shows s as the document does, with key, its value, only when it has
// just been made. Times are RFC 3339 in UTC, to the second, or null.
func view(s rotation.Secret, key string) map[string]any {
	account, _, _ := strings.Cut(s.Owner, "/") // owners are "<account>/<env>"
	metadata, permissions := map[string]json.RawMessage{}, map[string][]string{}
	for name, text := range s.Metadata {
		metadata[name] = json.RawMessage(text)
	}
	for _, scope := range s.Scopes {
		i := strings.LastIndexByte(scope, ':') // every scope a key can be given has one
		permissions[scope[:i]] = append(permissions[scope[:i]], scope[i+1:])
	}
	v := map[string]any{
		"object": "api_key", "id": s.ID, "account_id": account, "name": s.Name, "type": types[s.Format.Prefix()],
		"metadata": metadata, "permissions": permissions, "status": strings.ToUpper(s.Status.String()),
		"last_used_ip": nil, "last_used_at": timestamp(s.LastUsedAt), "expires_at": timestamp(s.ExpiresAt),
		"managed": !s.Custom, "deleted": false, "created_at": timestamp(s.CreatedAt), "updated_at": timestamp(s.UpdatedAt),
	}
	if s.LastUsedIP.IsValid() {
		v["last_used_ip"] = s.LastUsedIP
	}
	if key != "" {
		v["key"] = key
	}
	return v
}

// timestamp returns t in RFC 3339, or nil, which is JSON null, for the zero
// time.
func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// accountName is what an account may be called: it is part of the owners
// "<account>/live" and "<account>/test", and of shell output.
var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// createOwner creates the account name with a live and a sandbox secret key
// holding every permission the routes need.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	if !accountName.MatchString(name) {
		return nil, errors.New("an account name is 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	lines := []string{"owner=" + name}
	for _, e := range []struct{ env, variable string }{{"live", "secret"}, {"test", "test_secret"}} {
		spec := rotation.Spec{Name: "owner key", Format: secrets.Format("sk_" + e.env), Scopes: ownerPermissions, RateLimit: rateLimit}
		k, err := env.Rotator.Create(ctx, name+"/"+e.env, spec)
		if err != nil {
			return nil, err
		}
		lines = append(lines, e.variable+"="+k.Value.Reveal())
	}
	return lines, nil
}

// codePublishableKey is the Failure code of a publishable key presented to
// a route that takes secret keys only.
const codePublishableKey = "publishable_key"

// errorTable is every error the routes answer: for each Failure code, the
// HTTP status, the numeric code of the document's error object (the
// status and a digit) and its message. A Failure code none of these routes
// meets is answered as an internal error. README.md carries the same
// table.
var errorTable = map[string]struct {
	status, code int
	message      string
}{
	rotationhttp.CodeUnreadableBody:     {400, 4000, "the request body could not be read"},
	rotationhttp.CodeMissingAPIToken:    {401, 4010, "no API key was given: send a secret key as Authorization: Bearer"},
	rotationhttp.CodeInvalidAPIToken:    {401, 4011, "the API key is not valid, or has expired"},
	codePublishableKey:                  {403, 4030, "a publishable key cannot be used here: use a secret key"},
	rotationhttp.CodeScopeNotGranted:    {403, 4031, "the API key lacks the permission this request needs"},
	rotationhttp.CodePermissionDenied:   {403, 4032, "an API key cannot grant a permission it does not hold"},
	rotationhttp.CodeAPITokenNotFound:   {404, 4040, "no such API key"},
	rotationhttp.CodeNotFound:           {404, 4041, "no such route"},
	rotationhttp.CodeMethodNotAllowed:   {405, 4050, "the route does not take this method"},
	rotationhttp.CodeCustomSecret:       {409, 4090, "a custom API key cannot be regenerated: delete it and create another"},
	rotationhttp.CodeSecretNotActive:    {409, 4091, "the API key has expired"},
	rotationhttp.CodeLimitReached:       {409, 4092, "the account has the most active API keys allowed in this environment"},
	rotationhttp.CodeBodyTooLarge:       {413, 4130, "the request body is too large"},
	rotationhttp.CodeValidationError:    {422, 4220, "the request is not valid"},
	rotationhttp.CodeRateLimitReached:   {429, 4290, "the API key has made too many requests: retry later"},
	rotationhttp.CodeInternalError:      {500, 5000, "an internal error occurred"},
	rotationhttp.CodeServiceUnavailable: {503, 5030, "the service is unavailable: retry later"},
}

// fieldNames are the request members of the fields rotor's validation
// errors name.
var fieldNames = map[string]string{"Name": "name", "Scopes": "permissions", "Metadata": "metadata", "ExpiresAt": "expires_at"}

// render is the [rotationhttp.Renderer] of the document's error envelope.
// Its details hold what the failure calls for: the invalid members, each
// with what is wrong; the permission the route needs; the id or path not
// found; the requests a key may make a minute; the limit of active keys.
func render(w http.ResponseWriter, _ *http.Request, f rotationhttp.Failure) {
	e, ok := errorTable[f.Code]
	if !ok {
		e, f = errorTable[rotationhttp.CodeInternalError], rotationhttp.Failure{} // a bug: say nothing more
	}
	details := map[string]any{"permission": f.Scope, "resource_id": f.ResourceID, "total_permitted": f.TotalPermitted, "limit": f.Limit}
	maps.DeleteFunc(details, func(_ string, v any) bool { return v == "" || v == 0 })
	for _, field := range f.Fields {
		details[cmp.Or(fieldNames[field.Field], field.Field)] = field.Detail
	}
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, e.status, map[string]any{"message": e.message, "success": false,
		"error": map[string]any{"code": e.code, "message": e.message, "details": details}})
}
