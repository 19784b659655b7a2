package main

import (
	"cmp"
	"maps"
	"net/http"
	"strings"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets"
)

// prefixes are the key prefixes of the document's key types, and types
// the key types of the prefixes.
var prefixes = map[string]string{"SECRET": "sk", "PUBLISHABLE": "pk"}
var types = map[string]string{"sk": "SECRET", "pk": "PUBLISHABLE"}

// api serves the routes. It is safe for concurrent use.
type api struct{ rot *rotation.Rotator }

// newHandler returns the service's routes, under the document's base path
// /v1/api-keys. Every other path is a 404 in the document's envelope.
func newHandler(env service.Env) (http.Handler, error) {
	auth, err := rotationhttp.NewAuthenticator(env.Rotator, &rotationhttp.Options{Realm: "hsrcpay", Limiter: env.Limiter, Logger: env.Log, Render: render, Key: secretKey})
	if err != nil {
		return nil, err
	}
	a, mux := &api{env.Rotator}, http.NewServeMux()
	mux.Handle("POST /v1/api-keys", rotationhttp.Handle(auth, "account:api:key:create", a.create))
	mux.Handle("GET /v1/api-keys", rotationhttp.Handle(auth, "account:api:key:read", a.list))
	mux.Handle("GET /v1/api-keys/{id}", rotationhttp.Handle(auth, "account:api:key:read", a.get))
	mux.Handle("DELETE /v1/api-keys/{id}", rotationhttp.Handle(auth, "account:api:key:delete", a.delete))
	mux.Handle("POST /v1/api-keys/{id}/regenerate", rotationhttp.Handle(auth, "account:api:key:update", a.regenerate))
	return rotationhttp.Routes(mux, render), nil
}

// secretKey is the key a request presents, refused before it is looked up
// if it is a publishable key, as the document tells keys apart: "pk_",
// and no "sk_", within the first 32 characters of the bearer token.
func secretKey(r *http.Request) (string, error) {
	key := rotationhttp.BearerKey(r)
	if head := key[:min(len(key), 32)]; strings.Contains(head, "pk_") && !strings.Contains(head, "sk_") {
		return "", &rotationhttp.Failure{Status: http.StatusForbidden, Code: "publishable_key", Message: "a publishable key cannot be used here: use a secret key"}
	}
	return key, nil
}

// success is the reply, for [rotationhttp.Handle], of a route that did
// what it was asked: data in the document's envelope, or err if not nil.
func success(status int, data any, err error) (int, any, error) {
	return status, map[string]any{"message": "success", "success": true, "data": data}, err
}

// createRequest is the body of POST /v1/api-keys.
type createRequest struct {
	Name        string                    `json:"name"`
	Type        string                    `json:"type"`    // SECRET or PUBLISHABLE
	Managed     *bool                     `json:"managed"` // absent: true
	Permissions rotationhttp.Permissions  `json:"permissions"`
	Metadata    rotationhttp.JSONMetadata `json:"metadata"`
	ExpiresAt   rotationhttp.Timestamp    `json:"expires_at"` // absent or null: never
}

// create makes a key in the environment of the key that asks, with none of
// the permissions that key lacks.
func (a *api) create(r *http.Request, p rotation.Principal, req createRequest) (int, any, error) {
	prefix, ok := prefixes[req.Type]
	if !ok {
		return 0, nil, &rotation.ValidationError{Field: "type", Reason: "must be SECRET or PUBLISHABLE"}
	}
	if !p.Secret.HasScopes(req.Permissions) {
		return 0, nil, rotationhttp.ErrPermissionDenied // a key cannot grant what it does not hold
	}
	spec := rotation.Spec{Name: req.Name, Format: secrets.Format(prefix + "_" + p.Secret.Format.Env()), Scopes: req.Permissions,
		Metadata: req.Metadata, Custom: req.Managed != nil && !*req.Managed, RateLimit: rateLimit, ExpiresAt: req.ExpiresAt.Time}
	k, err := a.rot.Create(r.Context(), p.Owner, spec)
	if err != nil {
		return 0, nil, rotationhttp.RenameFields(err, members)
	}
	return success(http.StatusCreated, view(k.Secret, k.Value.Reveal()), nil)
}

// members name the request members of the fields that rotor's
// validation errors name.
var members = map[string]string{"Name": "name", "Scopes": "permissions", "Metadata": "metadata", "ExpiresAt": "expires_at"}

// list shows the keys of the environment, oldest first.
func (a *api) list(r *http.Request, p rotation.Principal, _ struct{}) (int, any, error) {
	keys, err := a.rot.List(r.Context(), p.Owner)
	views := []map[string]any{}
	for _, k := range keys {
		views = append(views, view(k, ""))
	}
	return success(http.StatusOK, views, err)
}

// get shows one key of the environment.
func (a *api) get(r *http.Request, p rotation.Principal, _ struct{}) (int, any, error) {
	k, err := a.rot.Get(r.Context(), p.Owner, r.PathValue("id"))
	return success(http.StatusOK, view(k, ""), err)
}

// delete deletes a key, managed or custom, for good.
func (a *api) delete(r *http.Request, p rotation.Principal, _ struct{}) (int, any, error) {
	err := a.rot.Delete(r.Context(), p.Owner, r.PathValue("id"))
	return success(http.StatusOK, map[string]any{"object": "api_key", "id": r.PathValue("id"), "deleted": true}, err)
}

// regenerate gives a managed key a new value; the old one dies at once.
func (a *api) regenerate(r *http.Request, p rotation.Principal, _ struct{}) (int, any, error) {
	k, err := a.rot.Regenerate(r.Context(), p.Owner, r.PathValue("id"), 0)
	if err != nil {
		return 0, nil, err
	}
	return success(http.StatusOK, view(k.Secret, k.Value.Reveal()), nil)
}

// view shows s as the document does, with key, its value, only when it has
// just been made.
func view(s rotation.Secret, key string) map[string]any {
	account, _, _ := strings.Cut(s.Owner, "/") // owners are "<account>/<env>"
	v := map[string]any{
		"object": "api_key", "id": s.ID, "account_id": account, "name": s.Name, "type": types[s.Format.Prefix()],
		"metadata": rotationhttp.JSONMetadata(s.Metadata), "permissions": rotationhttp.Permissions(s.Scopes),
		"status": strings.ToUpper(s.Status.String()), "managed": !s.Custom, "deleted": false, "last_used_ip": nil,
		"last_used_at": rotationhttp.Timestamp{Time: s.LastUsedAt}, "expires_at": rotationhttp.Timestamp{Time: s.ExpiresAt},
		"created_at": rotationhttp.Timestamp{Time: s.CreatedAt}, "updated_at": rotationhttp.Timestamp{Time: s.UpdatedAt},
	}
	if s.LastUsedIP.IsValid() {
		v["last_used_ip"] = s.LastUsedIP
	}
	if key != "" {
		v["key"] = key
	}
	return v
}

// subcodes tell apart the failures that share an HTTP status. The numeric
// code of the document's error object is the status and one digit: the
// failure's subcode, 0 unless listed here. README.md tables every code.
var subcodes = map[string]int{rotationhttp.CodeInvalidAPIToken: 1, rotationhttp.CodeScopeNotGranted: 1, rotationhttp.CodePermissionDenied: 2,
	rotationhttp.CodeNotFound: 1, rotationhttp.CodeSecretNotActive: 1, rotationhttp.CodeLimitReached: 2}

// render is the [rotationhttp.Renderer] of the document's error envelope.
// Its details hold what the failure calls for: the invalid members, each
// with what is wrong; the permission the route needs; the id or path not
// found; the requests a key may make a minute; the limit of active keys.
func render(w http.ResponseWriter, _ *http.Request, f rotationhttp.Failure) {
	details := map[string]any{"permission": f.Scope, "resource_id": f.ResourceID, "total_permitted": f.TotalPermitted, "limit": f.Limit}
	maps.DeleteFunc(details, func(_ string, v any) bool { return v == "" || v == 0 })
	for _, field := range f.Fields {
		details[field.Field] = field.Detail
	}
	message := cmp.Or(f.Message, "an internal error occurred")
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, f.Status, map[string]any{"message": message, "success": false,
		"error": map[string]any{"code": f.Status*10 + subcodes[f.Code], "message": message, "details": details}})
}
