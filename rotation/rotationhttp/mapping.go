package rotationhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/internal/secretid"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// DefaultRealm is the realm [ProblemFor] gives a 401, and the realm of an
// [Authenticator] whose Options set none.
const DefaultRealm = "api"

// conflictRetry is the Retry-After of a change given up after concurrent
// changes: by then the others are done.
const conflictRetry = time.Second

// ProblemFor returns the problem that answers err, which may be any error
// a handler meets: from package rotation, hmacsign, a store, this package's
// decoders and middleware, a context, or anything else. It never puts the
// text of err in the problem; it reads only the sentinels and the fields of
// the typed errors, which hold ids, scopes, addresses and limits, never
// secret material.
//
//	error                                     status  code
//	rotation.ErrMissingKey                    401     missing_api_token
//	rotation.ErrInvalidKey, ErrExpired,       401     invalid_api_token
//	  ErrRevoked
//	hmacsign.ErrInvalidSignature              401     invalid_signature, or which check failed
//	rotation.ErrNetworkNotAllowed             403     unauthorized_network_for_api_token (ip_address)
//	rotation.ErrScopeNotGranted               403     scope_not_granted (scope)
//	ErrPermissionDenied                       403     permission_denied
//	rotation.ErrNotFound                      404     api_token_not_found (resourceType, resourceId)
//	rotation.ErrLimitReached                  409     limit_reached (limit)
//	rotation.ErrDesignated                    409     designated_secret (resourceType, resourceId)
//	rotation.ErrNotManaged                    409     custom_secret (resourceType, resourceId)
//	rotation.ErrNotActive                     409     secret_not_active (resourceType, resourceId)
//	rotation.ErrCannotSign                    409     secret_cannot_sign (resourceType, resourceId)
//	rotation.ErrStale                         412     secret_changed (resourceType, resourceId)
//	hmacsign.ErrNoKeys (from a Signer)        409     no_signing_secret
//	ErrUnreadableBody                         400     unreadable_body
//	ErrBodyTooLarge                           413     body_too_large
//	rotation.ErrValidation, ErrInvalidBody    422     validation_error (errors)
//	ErrRateLimited                            429     rate_limit_reached (total_permitted, Retry-After)
//	rotation.ErrConflict, store.ErrConflict   503     service_unavailable (Retry-After: 1)
//	context.Canceled, DeadlineExceeded        503     service_unavailable
//	a store backend's failure                 503     service_unavailable
//	rotation.ErrMisconfigured, OptionError    500     internal_error
//	anything else                             500     internal_error
//
// A 401 gets [DefaultRealm]; [Authenticator.Error] puts its own realm and
// the route's scope in. 503 stands for conditions that pass: a change that
// lost to concurrent changes on every attempt (nothing was changed, so a
// retry is safe), a store that failed (a *store.OpError around a backend's
// error rather than one of package store's sentinels), a deadline that
// passed. The store's own sentinels other than ErrConflict mean a bug, and
// like every error not listed give a bare 500: the caller learns nothing
// internal, so log err yourself, as [Authenticator.Error] does.
//
// Several validation errors joined with [errors.Join] give one 422 that
// lists them all. ProblemFor(nil) returns nil.
func ProblemFor(err error) *Problem {
	if err == nil {
		return nil
	}
	if bodyErr, ok := errors.AsType[*BodyError](err); ok {
		switch bodyErr.Err {
		case ErrBodyTooLarge:
			return &Problem{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Detail: "the body " + bodyErr.Reason}
		case ErrUnreadableBody:
			return &Problem{Status: http.StatusBadRequest, Code: CodeUnreadableBody, Detail: "the body " + bodyErr.Reason}
		}
	}
	if errors.Is(err, rotation.ErrValidation) || errors.Is(err, ErrInvalidBody) {
		return &Problem{
			Status: http.StatusUnprocessableEntity,
			Code:   CodeValidationError,
			Detail: "the request is not valid; see errors",
			Errors: fieldErrors(err),
		}
	}
	if p := authProblem(err); p != nil {
		return p
	}
	if p := secretProblem(err); p != nil {
		return p
	}
	return unavailableProblem(err)
}

// authProblem maps refusals of a key, a signature or a permission.
func authProblem(err error) *Problem {
	authErr, _ := errors.AsType[*rotation.AuthError](err)
	if authErr == nil {
		authErr = &rotation.AuthError{}
	}
	unauthorized := func(code, detail string) *Problem {
		return &Problem{Status: http.StatusUnauthorized, Code: code, Detail: detail, Realm: DefaultRealm, Scope: authErr.Scope}
	}
	switch {
	case errors.Is(err, rotation.ErrMissingKey):
		return unauthorized(CodeMissingAPIToken, "no API token was given in the Authorization header; send it prefixed with Bearer")
	case errors.Is(err, rotation.ErrNetworkNotAllowed):
		p := &Problem{Status: http.StatusForbidden, Code: CodeUnauthorizedNetwork, IPAddress: authErr.IP}
		p.Detail = "the API token may not be used from this network"
		if authErr.IP.IsValid() {
			p.Detail = "the API token may not be used from " + authErr.IP.String()
		}
		return p
	case errors.Is(err, rotation.ErrScopeNotGranted):
		p := &Problem{Status: http.StatusForbidden, Code: CodeScopeNotGranted, Realm: DefaultRealm, Scope: authErr.Scope}
		p.Detail = "the API token has not been granted the scope this request needs"
		if authErr.Scope != "" {
			p.Detail = "the API token has not been granted the scope " + authErr.Scope
		}
		return p
	case errors.Is(err, rotation.ErrExpired):
		return unauthorized(CodeInvalidAPIToken, "the API token has expired")
	case errors.Is(err, rotation.ErrRevoked):
		return unauthorized(CodeInvalidAPIToken, "the API token has been revoked")
	case errors.Is(err, secrets.ErrMalformedKey):
		return unauthorized(CodeInvalidAPIToken, "the API token is malformed; check that it was copied whole")
	case errors.Is(err, rotation.ErrInvalidKey):
		return unauthorized(CodeInvalidAPIToken, "the API token is not valid")
	case errors.Is(err, hmacsign.ErrInvalidSignature):
		p := unauthorized(signatureCode(err), "the request's signature is not valid")
		p.AuthScheme = "Signature"
		if verr, ok := errors.AsType[*hmacsign.VerifyError](err); ok && verr.Detail != "" {
			p.Detail = verr.Detail // documented as safe to send back
		}
		return p
	case errors.Is(err, ErrPermissionDenied):
		return &Problem{Status: http.StatusForbidden, Code: CodePermissionDenied, Detail: "the API token is not permitted to perform this action"}
	case errors.Is(err, ErrRateLimited):
		p := &Problem{Status: http.StatusTooManyRequests, Code: CodeRateLimitReached, Detail: "the rate limit of the API token was reached"}
		if rl, ok := errors.AsType[*RateLimitError](err); ok {
			p.TotalPermitted = rl.Limit
			p.RetryAfter = rl.RetryAfter
			requests := "requests"
			if rl.Limit == 1 {
				requests = "request"
			}
			p.Detail = fmt.Sprintf("the API token allows %d %s a minute; retry after %d s", rl.Limit, requests, retrySeconds(rl.RetryAfter))
		}
		return p
	}
	return nil
}

func signatureCode(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{hmacsign.ErrMissingHeader, CodeMissingHeader},
		{hmacsign.ErrMalformedHeader, CodeMalformedHeader},
		{hmacsign.ErrTimestampTooOld, CodeTimestampTooOld},
		{hmacsign.ErrTimestampTooNew, CodeTimestampTooNew},
		{hmacsign.ErrReplayed, CodeReplayed},
		{hmacsign.ErrNoKeys, CodeNoValidKeys},
		{hmacsign.ErrNoMatch, CodeNoMatchingSignature},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return CodeInvalidSignature
}

// secretProblem maps refusals to change one secret or an owner's set.
func secretProblem(err error) *Problem {
	secErr, _ := errors.AsType[*rotation.SecretError](err)
	if secErr == nil {
		secErr = &rotation.SecretError{}
	}
	conflict := func(code, detail string) *Problem {
		return &Problem{Status: http.StatusConflict, Code: code, Detail: detail, ResourceType: "secret", ResourceID: secErr.ID}
	}
	switch {
	case errors.Is(err, rotation.ErrNotFound):
		p := &Problem{Status: http.StatusNotFound, Code: CodeAPITokenNotFound, ResourceType: "secret", ResourceID: secErr.ID}
		switch secErr.ID {
		case "":
			p.Detail = "no such secret"
		case secretid.NotAnID:
			// The id given may be a key pasted in its place, so it is not repeated.
			p.Detail = "no secret has that id; secret ids are sec_ and 26 lower-case letters and digits"
		default:
			p.Detail = "no secret has the id " + secErr.ID
		}
		return p
	case errors.Is(err, rotation.ErrLimitReached):
		p := &Problem{Status: http.StatusConflict, Code: CodeLimitReached, Detail: "the limit of active secrets is reached; delete or regenerate one instead"}
		if le, ok := errors.AsType[*rotation.LimitError](err); ok {
			p.Limit = le.Limit
			p.Detail = fmt.Sprintf("at most %d secrets may be active at once; delete or regenerate one instead", le.Limit)
		}
		return p
	case errors.Is(err, rotation.ErrDesignated):
		return conflict(CodeDesignatedSecret, "the secret signs webhooks, so it cannot be deleted or revoked; designate another secret first")
	case errors.Is(err, rotation.ErrNotManaged):
		return conflict(CodeCustomSecret, "the secret is custom: it can be deleted, not regenerated; create a new one instead")
	case errors.Is(err, rotation.ErrNotActive):
		return conflict(CodeSecretNotActive, "the secret is "+statusPhrase(secErr.Status)+"; only an active secret can be regenerated, updated or designated")
	case errors.Is(err, rotation.ErrCannotSign):
		return conflict(CodeSecretCannotSign, "the secret keeps no value to sign with; only a secret created to sign webhooks can be designated")
	case errors.Is(err, rotation.ErrStale):
		p := conflict(CodeSecretChanged, "the secret was regenerated meanwhile; read it again and retry")
		p.Status = http.StatusPreconditionFailed
		return p
	case errors.Is(err, hmacsign.ErrNoKeys):
		return &Problem{Status: http.StatusConflict, Code: CodeNoSigningSecret, Detail: "no valid secret can sign webhooks for this owner"}
	}
	return nil
}

func statusPhrase(s rotation.Status) string {
	switch s {
	case rotation.StatusExpired:
		return "expired"
	case rotation.StatusRevoked:
		return "revoked"
	}
	return "not active"
}

// unavailableProblem maps what passes to 503 and everything else to 500.
func unavailableProblem(err error) *Problem {
	unavailable := &Problem{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable, Detail: "the service is unavailable; retry later"}
	switch {
	case errors.Is(err, rotation.ErrConflict), errors.Is(err, store.ErrConflict):
		unavailable.RetryAfter = conflictRetry
		return unavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return unavailable
	}
	if opErr, ok := errors.AsType[*store.OpError](err); ok && !isStoreSentinel(opErr.Err) {
		return unavailable
	}
	return &Problem{Status: http.StatusInternalServerError, Code: CodeInternalError, Detail: "an internal error occurred"}
}

func isStoreSentinel(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid)
}

// fieldErrors lists the fields named by the validation errors in err's
// tree, in order, each once.
func fieldErrors(err error) []FieldError {
	var out []FieldError
	seen := make(map[FieldError]bool)
	add := func(fe FieldError) {
		if !seen[fe] {
			seen[fe] = true
			out = append(out, fe)
		}
	}
	var walk func(error)
	walk = func(e error) {
		switch e := e.(type) {
		case *rotation.ValidationError:
			add(FieldError{Field: e.Field, Detail: e.Reason})
			return
		case *BodyError:
			add(FieldError{Field: e.Field, Detail: e.Reason})
			return
		case interface{ Unwrap() error }:
			if next := e.Unwrap(); next != nil {
				walk(next)
			}
		case interface{ Unwrap() []error }:
			for _, next := range e.Unwrap() {
				walk(next)
			}
		}
	}
	walk(err)
	if len(out) == 0 {
		// A bare sentinel says something was invalid, not what.
		out = append(out, FieldError{Field: "body", Detail: "is not valid"})
	}
	return out
}
