package rotationhttp

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Problem is an RFC 9457 problem details object, with the extension
// members rotor's errors need. [ProblemFor] builds one from an error and
// [WriteProblem] sends it; a handler may also build or adjust one itself
// (set Instance, or a Type URI of its own) before writing it.
//
// Members whose field is the zero value are left out of the JSON, except
// title and status. A Problem never holds secret material: [ProblemFor]
// fills it only from ids, scopes, client addresses, limits and fixed text.
// It is a plain value; the zero value is an empty problem that
// [WriteProblem] sends as a 500.
type Problem struct {
	// Type is a URI reference naming the problem type. Empty means
	// "about:blank", whose title is the HTTP status phrase; Code then tells
	// problems of one status apart.
	Type string `json:"type,omitempty"`
	// Title is a short summary of the problem type. Empty means the HTTP
	// status phrase.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence, for a human.
	Detail string `json:"detail,omitempty"`
	// Instance is a URI reference naming this occurrence; [WriteError] and
	// [Authenticator.Error] set it to the request's path, with every
	// segment longer than 23 bytes that is not a secret id replaced by
	// "REDACTED".
	Instance string `json:"instance,omitempty"`

	// Code is a machine-readable name of the problem, one of the Code
	// constants, such as [CodeInvalidAPIToken].
	Code string `json:"code,omitempty"`
	// Realm is the authentication realm, on 401 and on a scope refused.
	Realm string `json:"realm,omitempty"`
	// Scope is the scope the route requires, on 401 and on a scope refused.
	Scope string `json:"scope,omitempty"`
	// ResourceType and ResourceID name what was not found or is in the
	// way, such as "secret" and its id.
	ResourceType string `json:"resourceType,omitempty"`
	ResourceID   string `json:"resourceId,omitempty"`
	// Errors lists the invalid members of a request, each with its field.
	Errors []FieldError `json:"errors,omitempty"`
	// TotalPermitted is the number of requests permitted per minute, on
	// 429.
	TotalPermitted int `json:"total_permitted,omitempty"`
	// Limit is the number of active secrets an owner may hold, on a 409
	// for the limit.
	Limit int `json:"limit,omitempty"`
	// IPAddress is the client address a request was received from, on a
	// network refused.
	IPAddress netip.Addr `json:"ip_address,omitzero"`

	// RetryAfter, when positive, is sent as the Retry-After header, in
	// whole seconds rounded up.
	RetryAfter time.Duration `json:"-"`
	// AuthScheme is the scheme of the WWW-Authenticate challenge sent with
	// a 401. Empty means "Bearer".
	AuthScheme string `json:"-"`
}

// FieldError is one entry of [Problem].Errors: a request member and what
// is wrong with it.
type FieldError struct {
	// Field is the JSON member, such as "oldSecretValidForSeconds", or
	// "body" for the body as a whole.
	Field string `json:"field"`
	// Detail says what is allowed.
	Detail string `json:"detail"`
}

// The machine codes of [Problem].Code that rotor's design names.
const (
	CodeMissingAPIToken     = "missing_api_token"                  // 401: no Authorization: Bearer header
	CodeInvalidAPIToken     = "invalid_api_token"                  // 401: malformed, unknown, expired or revoked key
	CodeUnauthorizedNetwork = "unauthorized_network_for_api_token" // 403: client outside the key's networks
	CodeScopeNotGranted     = "scope_not_granted"                  // 403: the key lacks the route's scope
	CodePermissionDenied    = "permission_denied"                  // 403: ErrPermissionDenied
	CodeAPITokenNotFound    = "api_token_not_found"                // 404: no such secret
	CodeValidationError     = "validation_error"                   // 422: see Problem.Errors
	CodeRateLimitReached    = "rate_limit_reached"                 // 429: see Problem.TotalPermitted
	CodeServiceUnavailable  = "service_unavailable"                // 503: retry later
)

// The machine codes of [Problem].Code for conflicts with an owner's
// secrets (409), for request bodies, and for internal errors.
const (
	CodeLimitReached     = "limit_reached"      // 409: the owner has the most active secrets allowed
	CodeDesignatedSecret = "designated_secret"  // 409: it signs webhooks; designate another first
	CodeCustomSecret     = "custom_secret"      // 409: a custom secret cannot be regenerated
	CodeSecretNotActive  = "secret_not_active"  // 409: expired or revoked
	CodeSecretCannotSign = "secret_cannot_sign" // 409: only a secret that can sign is designated
	CodeSecretChanged    = "secret_changed"     // 412: regenerated since the caller read it
	CodeNoSigningSecret  = "no_signing_secret"  // 409: the owner has no secret that can sign
	CodeUnreadableBody   = "unreadable_body"    // 400: the body could not be read
	CodeBodyTooLarge     = "body_too_large"     // 413: the body is larger than MaxBody
	CodeInternalError    = "internal_error"     // 500: nothing more is said
)

// The machine codes of [Problem].Code for signed requests that do not
// verify (401), the same as hmacsign.Middleware gives: which check failed.
const (
	CodeInvalidSignature    = "invalid_signature"     // any other refusal
	CodeMissingHeader       = "missing_header"        // a signature header is absent
	CodeMalformedHeader     = "malformed_header"      // a signature header is unusable
	CodeTimestampTooOld     = "timestamp_too_old"     // outside the verifier's tolerance
	CodeTimestampTooNew     = "timestamp_too_new"     // outside the verifier's tolerance
	CodeNoMatchingSignature = "no_matching_signature" // no signature matches a valid key
	CodeNoValidKeys         = "no_valid_keys"         // the owner has no key to verify with
	CodeReplayed            = "replayed"              // the message id was seen already
)

// WriteProblem sends p as the response: Content-Type
// application/problem+json, Cache-Control no-store, the status, and the
// headers the problem calls for:
//
//   - on 401, WWW-Authenticate with p.AuthScheme (Bearer by default),
//     p.Realm and p.Scope, and error="invalid_token" for
//     [CodeInvalidAPIToken], as RFC 6750 asks;
//   - on a scope refused (403), WWW-Authenticate: Bearer with
//     error="insufficient_scope" and the scope;
//   - Retry-After when p.RetryAfter is positive.
//
// A WWW-Authenticate or Retry-After header already set on w is kept. An
// empty Type, Title or Status is sent as "about:blank", the status phrase
// and 500.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	out := *p
	if out.Status == 0 {
		out.Status = http.StatusInternalServerError
	}
	if out.Type == "" {
		out.Type = "about:blank"
	}
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	body, _ := json.Marshal(&out) // strings, ints and a netip.Addr always marshal
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if c := challenge(&out); c != "" && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", c)
	}
	if out.RetryAfter > 0 && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(retrySeconds(out.RetryAfter), 10))
	}
	w.WriteHeader(out.Status)
	_, _ = w.Write(append(body, '\n'))
}

// challenge returns the WWW-Authenticate value p calls for, or "".
func challenge(p *Problem) string {
	var errCode string
	switch {
	case p.Status == http.StatusUnauthorized:
		if p.Code == CodeInvalidAPIToken {
			errCode = "invalid_token"
		}
	case p.Status == http.StatusForbidden && p.Code == CodeScopeNotGranted:
		errCode = "insufficient_scope"
	default:
		return ""
	}
	scheme := p.AuthScheme
	if scheme == "" {
		scheme = "Bearer"
	}
	var params []string
	if p.Realm != "" {
		params = append(params, "realm="+quote(p.Realm))
	}
	if errCode != "" {
		params = append(params, "error="+quote(errCode))
	}
	if p.Scope != "" {
		params = append(params, "scope="+quote(p.Scope))
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

// retrySeconds rounds d up to whole seconds, at least one.
func retrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
