package rotationhttp

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Failure is what the response to an error must say, whatever the shape of
// its body: the status, a stable machine code, a sentence for a human, and
// the members the kind of failure calls for. [FailureFor] fills one from
// any error; a [Renderer] writes it in the service's shape.
//
// A Failure never holds secret material, nor the text of the error it was
// made from: only fixed sentences of this package and the ids, scopes,
// addresses and limits that rotor's typed errors carry. A renderer may
// change anything before writing it, such as the status a service's API
// gives a code, or a sentence in its own words.
//
// A *Failure is an error too, which FailureFor gives back as it is: a
// handler or an [Options].Key that returns one answers with a failure of
// the service's own.
type Failure struct {
	// Status is the HTTP status, such as 401.
	Status int
	// Code is the machine-readable name of the failure, one of the Code
	// constants, such as [CodeInvalidAPIToken]. It is stable: a renderer
	// may branch on it.
	Code string
	// Message says what went wrong, for a human, in a sentence of this
	// package's that names nothing internal. It is empty for a 500, which
	// says nothing.
	Message string

	// Realm and Scope go with a refused key (401, and 403 for a scope not
	// granted): the protection space and the scope the route requires.
	Realm, Scope string
	// AuthScheme is the scheme of the WWW-Authenticate challenge of a 401:
	// "Bearer", or "Signature" for a signed request.
	AuthScheme string
	// ResourceType and ResourceID name what was not found or is in the
	// way (404, 409, 412): "secret" and its id, or "route" and the path.
	// An id is shown only when it has the shape of one: text a client put
	// in its place (a pasted key, say) is "(not a secret id)".
	ResourceType, ResourceID string
	// Fields are the invalid members of a request (422).
	Fields []FieldError
	// Limit is the number of active secrets an owner may hold (409
	// limit_reached).
	Limit int
	// TotalPermitted is the number of requests a minute the key is
	// permitted (429).
	TotalPermitted int
	// RetryAfter is how long until a retry may succeed (429, 503); zero
	// when there is nothing to say.
	RetryAfter time.Duration
	// IP is the client address a request came from (403 network not
	// allowed).
	IP netip.Addr

	// Err is the error the Failure was made from, for logs. Renderers
	// never send it.
	Err error
}

// Error returns the code of f and its Message, for logs.
func (f *Failure) Error() string {
	if f.Message == "" {
		return "rotationhttp: " + f.Code
	}
	return "rotationhttp: " + f.Code + ": " + f.Message
}

// Unwrap returns the error f was made from, if any.
func (f *Failure) Unwrap() error { return f.Err }

// FieldError is one invalid member of a request: its name and what is
// wrong with it.
type FieldError struct {
	// Field is the JSON member, with its path, such as
	// "oldSecretValidForSeconds" or "api_token.rate_limit", or "body" for
	// the body as a whole.
	Field string `json:"field"`
	// Detail says what is allowed.
	Detail string `json:"detail"`
}

// A Renderer writes a Failure as the response to r, in a service's own
// shape. [WriteProblem] is the RFC 9457 one; a service whose API answers
// errors with another body writes its own in a few lines, calling
// [Failure.SetHeaders] for the headers every shape needs:
//
//	func render(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
//		if f.Code == rotationhttp.CodeMissingAPIToken {
//			f.Status = http.StatusBadRequest // this API's choice
//		}
//		f.SetHeaders(w.Header())
//		rotationhttp.WriteJSON(w, f.Status, map[string]any{"code": f.Code, "description": f.Message})
//	}
type Renderer func(w http.ResponseWriter, r *http.Request, f Failure)

// The machine codes of [Failure].Code that rotor's design names.
const (
	CodeMissingAPIToken     = "missing_api_token"                  // 401: no Authorization: Bearer header
	CodeInvalidAPIToken     = "invalid_api_token"                  // 401: malformed, unknown, expired or revoked key
	CodeUnauthorizedNetwork = "unauthorized_network_for_api_token" // 403: client outside the key's networks
	CodeScopeNotGranted     = "scope_not_granted"                  // 403: the key lacks the route's scope
	CodePermissionDenied    = "permission_denied"                  // 403: ErrPermissionDenied
	CodeAPITokenNotFound    = "api_token_not_found"                // 404: no such secret
	CodeValidationError     = "validation_error"                   // 422: see Failure.Fields
	CodeRateLimitReached    = "rate_limit_reached"                 // 429: see Failure.TotalPermitted
	CodeServiceUnavailable  = "service_unavailable"                // 503: retry later
)

// The machine codes of [Failure].Code for conflicts with an owner's
// secrets, for routes and request bodies, and for internal errors.
const (
	CodeLimitReached     = "limit_reached"      // 409: the owner has the most active secrets allowed
	CodeDesignatedSecret = "designated_secret"  // 409: it signs webhooks; designate another first
	CodeCustomSecret     = "custom_secret"      // 409: a custom secret cannot be regenerated
	CodeSecretNotActive  = "secret_not_active"  // 409: expired or revoked
	CodeSecretCannotSign = "secret_cannot_sign" // 409: only a secret that can sign is designated
	CodeSecretChanged    = "secret_changed"     // 412: regenerated since the caller read it
	CodeNoSigningSecret  = "no_signing_secret"  // 409: the owner has no secret that can sign
	CodeNotFound         = "not_found"          // 404: no such route, or a path that is not clean
	CodeMethodNotAllowed = "method_not_allowed" // 405: the route takes other methods
	CodeUnreadableBody   = "unreadable_body"    // 400: the body could not be read
	CodeBodyTooLarge     = "body_too_large"     // 413: the body is larger than the limit
	CodeInternalError    = "internal_error"     // 500: nothing more is said
)

// The machine codes of [Failure].Code for signed requests that do not
// verify (401): which check failed, as [hmacsign.Code] names it.
const (
	CodeInvalidSignature    = "invalid_signature"     // any other refusal
	CodeMissingHeader       = "missing_header"        // a signature header is absent
	CodeMalformedHeader     = "malformed_header"      // a signature header is unusable
	CodeTimestampTooOld     = "timestamp_too_old"     // outside the verifier's tolerance
	CodeTimestampTooNew     = "timestamp_too_new"     // outside the verifier's tolerance
	CodeNoMatchingSignature = "no_matching_signature" // no signature matches a valid key
	CodeNoValidKeys         = "no_valid_keys"         // the owner has no key to verify with
	CodeReplayed            = "replayed"              // the message id was seen already
	CodeUnknownOwner        = "unknown_owner"         // the request names no known owner
)

// DefaultRealm is the realm [FailureFor] gives a refused key, and the realm
// of an [Authenticator] whose Options set none.
const DefaultRealm = "api"

// conflictRetry is the RetryAfter of a change given up after concurrent
// changes: by then the others are done.
const conflictRetry = time.Second

// overloadRetry is the RetryAfter of a key not looked up for the cap on
// lookups of unknown keys, which has room again within a second.
const overloadRetry = time.Second

// FailureFor returns the Failure that answers err, which may be any error
// a handler meets: from package rotation, hmacsign, a store, this package's
// decoders and middleware, a context, or anything else. It reads only the
// sentinels and the fields of the typed errors, never err's text.
//
//	error                                     status  code
//	a *Failure                                its own, as it is
//	rotation.ErrMissingKey                    401     missing_api_token
//	rotation.ErrInvalidKey, ErrExpired,       401     invalid_api_token
//	  ErrRevoked
//	hmacsign.ErrInvalidSignature              401     invalid_signature, or which check failed
//	rotation.ErrNetworkNotAllowed             403     unauthorized_network_for_api_token (IP)
//	rotation.ErrScopeNotGranted               403     scope_not_granted (Scope)
//	ErrPermissionDenied                       403     permission_denied
//	rotation.ErrNotFound                      404     api_token_not_found (ResourceType, ResourceID)
//	rotation.ErrLimitReached                  409     limit_reached (Limit)
//	rotation.ErrDesignated                    409     designated_secret (ResourceType, ResourceID)
//	rotation.ErrNotManaged                    409     custom_secret (ResourceType, ResourceID)
//	rotation.ErrNotActive                     409     secret_not_active (ResourceType, ResourceID)
//	rotation.ErrCannotSign                    409     secret_cannot_sign (ResourceType, ResourceID)
//	rotation.ErrStale                         412     secret_changed (ResourceType, ResourceID)
//	hmacsign.ErrNoKeys (from a Signer)        409     no_signing_secret
//	ErrUnreadableBody, hmacsign's             400     unreadable_body
//	ErrBodyTooLarge, hmacsign's               413     body_too_large
//	rotation.ErrValidation, ErrInvalidBody    422     validation_error (Fields)
//	ErrRateLimited                            429     rate_limit_reached (TotalPermitted, RetryAfter)
//	rotation.ErrConflict, store.ErrConflict   503     service_unavailable (RetryAfter 1 s)
//	rotation.ErrOverloaded                    503     service_unavailable (RetryAfter 1 s)
//	context.Canceled, DeadlineExceeded        503     service_unavailable
//	a store backend's failure                 503     service_unavailable
//	ratelimit.ErrUnavailable,                 503     service_unavailable
//	  hmacsign.ErrGuardUnavailable
//	rotation.ErrMisconfigured, OptionError    500     internal_error
//	anything else                             500     internal_error
//
// A refused key gets [DefaultRealm]; [Authenticator.Error] puts its own
// realm and the route's scope in. 503 stands for conditions that pass: a
// change that lost to concurrent changes on every attempt (nothing was
// changed, so a retry is safe), a key not looked up because unknown keys
// have used up the store lookups they may cost (the key may be valid;
// see rotation.CacheOptions), a store that failed (a *store.OpError
// around a backend's error rather than one of package store's
// sentinels), a deadline that passed, a rate limiter or a replay guard
// that cannot reach its backend and fails closed. The store's own sentinels other
// than ErrConflict mean a bug, and like every error not listed give a
// bare 500: the caller learns nothing internal, so log err yourself, as
// [Authenticator.Error] does.
//
// Several validation errors joined with [errors.Join] give one 422 that
// lists them all. FailureFor(nil) is a 500: a nil error passed where one
// was meant is a bug.
func FailureFor(err error) Failure {
	f := failureFor(err)
	f.Err = err
	return f
}

func failureFor(err error) Failure {
	if err == nil {
		return internal()
	}
	if f, ok := errors.AsType[*Failure](err); ok {
		own := *f
		own.Err = nil // FailureFor sets it to err
		return own
	}
	if body, ok := errors.AsType[*BodyError](err); ok {
		switch body.Err {
		case ErrBodyTooLarge:
			return Failure{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: "the body " + body.Reason}
		case ErrUnreadableBody:
			return Failure{Status: http.StatusBadRequest, Code: CodeUnreadableBody, Message: "the body " + body.Reason}
		}
	}
	switch {
	case errors.Is(err, rotation.ErrMisconfigured):
		return internal() // the service's fault: nothing for the client
	case errors.Is(err, rotation.ErrValidation), errors.Is(err, ErrInvalidBody):
		return Failure{
			Status:  http.StatusUnprocessableEntity,
			Code:    CodeValidationError,
			Message: "the request is not valid",
			Fields:  fieldErrors(err),
		}
	case errors.Is(err, hmacsign.ErrBodyTooLarge):
		return Failure{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: "the body is larger than the limit"}
	case errors.Is(err, hmacsign.ErrUnreadableBody):
		return Failure{Status: http.StatusBadRequest, Code: CodeUnreadableBody, Message: "the body could not be read"}
	}
	if f, ok := keyFailure(err); ok {
		return f
	}
	if f, ok := secretFailure(err); ok {
		return f
	}
	return unavailable(err)
}

// internal is the Failure of every error that is the service's own: a
// 500 with no Message, since nothing about it is the client's business.
func internal() Failure {
	return Failure{Status: http.StatusInternalServerError, Code: CodeInternalError}
}

// keyFailure maps refusals of a key, a signature or a permission.
func keyFailure(err error) (Failure, bool) {
	authErr, _ := errors.AsType[*rotation.AuthError](err)
	if authErr == nil {
		authErr = &rotation.AuthError{}
	}
	unauthorized := func(code, msg string) (Failure, bool) {
		return Failure{Status: http.StatusUnauthorized, Code: code, Message: msg, Realm: DefaultRealm, Scope: authErr.Scope, AuthScheme: "Bearer"}, true
	}
	switch {
	case errors.Is(err, rotation.ErrMissingKey):
		return unauthorized(CodeMissingAPIToken, "no API token was given")
	case errors.Is(err, rotation.ErrNetworkNotAllowed):
		return Failure{Status: http.StatusForbidden, Code: CodeUnauthorizedNetwork, IP: authErr.IP,
			Message: "the API token may not be used from this network"}, true
	case errors.Is(err, rotation.ErrScopeNotGranted):
		return Failure{Status: http.StatusForbidden, Code: CodeScopeNotGranted, Realm: DefaultRealm, Scope: authErr.Scope,
			Message: "the API token has not been granted the scope this request needs"}, true
	case errors.Is(err, rotation.ErrExpired):
		return unauthorized(CodeInvalidAPIToken, "the API token has expired")
	case errors.Is(err, rotation.ErrRevoked):
		return unauthorized(CodeInvalidAPIToken, "the API token has been revoked")
	case errors.Is(err, secrets.ErrMalformedKey):
		return unauthorized(CodeInvalidAPIToken, "the API token is malformed")
	case errors.Is(err, rotation.ErrInvalidKey):
		return unauthorized(CodeInvalidAPIToken, "the API token is not valid")
	case errors.Is(err, hmacsign.ErrInvalidSignature):
		f, _ := unauthorized(hmacsign.Code(err), "the request's signature is not valid")
		f.AuthScheme = "Signature"
		if verr, ok := errors.AsType[*hmacsign.VerifyError](err); ok && verr.Detail != "" {
			f.Message = verr.Detail // documented as safe to send back
		}
		return f, true
	case errors.Is(err, ErrPermissionDenied):
		return Failure{Status: http.StatusForbidden, Code: CodePermissionDenied, Message: "the API token is not permitted to perform this action"}, true
	case errors.Is(err, ErrRateLimited):
		f := Failure{Status: http.StatusTooManyRequests, Code: CodeRateLimitReached, Message: "the rate limit of the API token was reached"}
		if rl, ok := errors.AsType[*RateLimitError](err); ok {
			f.TotalPermitted, f.RetryAfter = rl.Limit, rl.RetryAfter
		}
		return f, true
	}
	return Failure{}, false
}

// secretFailure maps refusals to change one secret or an owner's set.
func secretFailure(err error) (Failure, bool) {
	secErr, _ := errors.AsType[*rotation.SecretError](err)
	if secErr == nil {
		secErr = &rotation.SecretError{}
	}
	about := func(status int, code, msg string) (Failure, bool) {
		return Failure{Status: status, Code: code, Message: msg, ResourceType: "secret", ResourceID: secErr.ID}, true
	}
	switch {
	case errors.Is(err, rotation.ErrNotFound):
		return about(http.StatusNotFound, CodeAPITokenNotFound, "the secret was not found")
	case errors.Is(err, rotation.ErrLimitReached):
		f := Failure{Status: http.StatusConflict, Code: CodeLimitReached, Message: "the limit of active secrets is reached"}
		if le, ok := errors.AsType[*rotation.LimitError](err); ok {
			f.Limit = le.Limit
		}
		return f, true
	case errors.Is(err, rotation.ErrDesignated):
		return about(http.StatusConflict, CodeDesignatedSecret, "the secret signs webhooks, so it cannot be deleted or revoked")
	case errors.Is(err, rotation.ErrNotManaged):
		return about(http.StatusConflict, CodeCustomSecret, "the secret is custom: it can be deleted, not regenerated")
	case errors.Is(err, rotation.ErrNotActive):
		return about(http.StatusConflict, CodeSecretNotActive, "the secret is not active")
	case errors.Is(err, rotation.ErrCannotSign):
		return about(http.StatusConflict, CodeSecretCannotSign, "the secret cannot sign webhooks")
	case errors.Is(err, rotation.ErrStale):
		return about(http.StatusPreconditionFailed, CodeSecretChanged, "the secret was regenerated meanwhile")
	case errors.Is(err, hmacsign.ErrNoKeys):
		return Failure{Status: http.StatusConflict, Code: CodeNoSigningSecret, Message: "no secret can sign webhooks for this owner"}, true
	}
	return Failure{}, false
}

// unavailable maps what passes to 503 and everything else to 500.
func unavailable(err error) Failure {
	f := Failure{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable, Message: "the service is unavailable; retry later"}
	switch {
	case errors.Is(err, rotation.ErrConflict), errors.Is(err, store.ErrConflict):
		f.RetryAfter = conflictRetry
		return f
	case errors.Is(err, rotation.ErrOverloaded):
		f.RetryAfter = overloadRetry
		return f
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ratelimit.ErrUnavailable), errors.Is(err, hmacsign.ErrGuardUnavailable):
		return f
	}
	if opErr, ok := errors.AsType[*store.OpError](err); ok && !isStoreSentinel(opErr.Err) {
		return f
	}
	return internal()
}

func isStoreSentinel(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid)
}

// fieldErrors lists the fields named by the validation errors in err's
// tree, in order, each once, with the names [RenameFields] gave them.
func fieldErrors(err error) []FieldError {
	var out []FieldError
	seen := make(map[FieldError]bool)
	add := func(fe FieldError) {
		if !seen[fe] {
			seen[fe] = true
			out = append(out, fe)
		}
	}
	var walk func(e error, names map[string]string)
	walk = func(e error, names map[string]string) {
		switch e := e.(type) {
		case *rotation.ValidationError:
			field := e.Field
			if name, ok := names[field]; ok {
				field = name
			}
			add(FieldError{Field: field, Detail: e.Reason})
			return
		case *BodyError:
			add(FieldError{Field: e.Field, Detail: e.Reason})
			return
		case *renamedError:
			walk(e.err, e.names)
		case interface{ Unwrap() error }:
			if next := e.Unwrap(); next != nil {
				walk(next, names)
			}
		case interface{ Unwrap() []error }:
			for _, next := range e.Unwrap() {
				walk(next, names)
			}
		}
	}
	walk(err, nil)
	if len(out) == 0 {
		// A bare sentinel says something was invalid, not what.
		out = append(out, FieldError{Field: "body", Detail: "is not valid"})
	}
	return out
}

// SetHeaders sets on h the headers every answer to f needs, whatever the
// shape of its body:
//
//   - Cache-Control: no-store;
//   - on 401, WWW-Authenticate with f.AuthScheme (Bearer by default),
//     f.Realm and f.Scope, and error="invalid_token" for
//     [CodeInvalidAPIToken], as RFC 6750 asks; on a scope refused,
//     Bearer with error="insufficient_scope";
//   - Retry-After when f.RetryAfter is positive, in whole seconds
//     rounded up.
//
// A WWW-Authenticate or Retry-After header already set on h is kept.
func (f *Failure) SetHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	if c := f.challenge(); c != "" && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", c)
	}
	if f.RetryAfter > 0 && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(RetrySeconds(f.RetryAfter), 10))
	}
}

// challenge returns the WWW-Authenticate value f calls for, or "".
func (f *Failure) challenge() string {
	var errCode string
	switch {
	case f.Status == http.StatusUnauthorized:
		if f.Code == CodeInvalidAPIToken {
			errCode = "invalid_token"
		}
	case f.Code == CodeScopeNotGranted:
		errCode = "insufficient_scope"
	default:
		return ""
	}
	scheme := f.AuthScheme
	if scheme == "" {
		scheme = "Bearer"
	}
	var params []string
	if f.Realm != "" {
		params = append(params, "realm="+quote(f.Realm))
	}
	if errCode != "" {
		params = append(params, "error="+quote(errCode))
	}
	if f.Scope != "" {
		params = append(params, "scope="+quote(f.Scope))
	}
	if len(params) == 0 {
		return scheme
	}
	return scheme + " " + strings.Join(params, ", ")
}

// quote returns s as an HTTP quoted-string. Control characters are
// dropped, since no quoting makes them safe in a header.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// RetrySeconds rounds d up to whole seconds, at least one: what a
// Retry-After header, or a body that says when to retry, gives for d.
func RetrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
