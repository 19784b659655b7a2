package hmacsign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// DefaultMaxBody is the largest body [Middleware] reads when
// [MiddlewareOptions].MaxBody is zero: 1 MiB.
const DefaultMaxBody = 1 << 20

// MiddlewareOptions configures [Middleware]. The zero value, like a nil
// pointer, means defaults.
type MiddlewareOptions struct {
	// MaxBody is the largest body, in bytes, that is read and verified; a
	// larger one is answered 413. Zero means [DefaultMaxBody]; a negative
	// one is refused by [Middleware].
	MaxBody int64

	// Error answers a request that [Middleware] refuses, with the reason:
	// a [*VerifyError] (a signature that does not verify, or an owner that
	// cannot be told, [ErrUnknownOwner]), [ErrBodyTooLarge],
	// [ErrUnreadableBody], or the error of the key source or the replay
	// guard. A service passes its own, such as rotationhttp's
	// Authenticator.Error, to answer in its API's shape. Nil means an
	// RFC 9457 problem whose code is [Code]'s: 401 for a refusal, 413, 400,
	// 503 for a replay guard that cannot be reached ([ErrGuardUnavailable])
	// and 500 for a failed key source.
	Error func(w http.ResponseWriter, r *http.Request, err error)
}

// Verified is what [Middleware] learned about a request it let through.
// The zero value means nothing was verified.
type Verified struct {
	Owner     string // the owner the request was verified for
	KeyID     string // the id of the key whose signature matched
	MessageID string // the message id, if the scheme carries one
}

type verifiedKey struct{}

// NewContext returns a copy of ctx that carries v, as [Middleware] does; it
// is for testing handlers that call [FromContext].
func NewContext(ctx context.Context, v Verified) context.Context {
	return context.WithValue(ctx, verifiedKey{}, v)
}

// FromContext returns what [Middleware] verified about the request whose
// context is ctx, and reports whether it did.
func FromContext(ctx context.Context) (Verified, bool) {
	v, ok := ctx.Value(verifiedKey{}).(Verified)
	return v, ok
}

// Middleware returns net/http middleware that lets through only requests
// signed for their owner. For each request it asks owner for the owner
// whose keys must have signed it (from the path, a host name, a header),
// reads the body up to the limit, verifies it with v as
// [Verifier.VerifyRequest] does (so Standard Webhooks headers may come in
// Svix's spelling too), puts the body back for the next handler and the
// [Verified] result in the request's context (see [FromContext]).
//
// Refusals are answered by [MiddlewareOptions].Error, by default RFC 9457
// problem details (Content-Type application/problem+json) with members
// type ("about:blank"), title, status, detail and code, [Code]'s name for
// the refusal:
//
//   - 401 when owner fails or the request does not verify;
//   - 413 when the body is larger than the limit;
//   - 400 when the body cannot be read;
//   - 503, with Retry-After, when the replay guard cannot reach its
//     backend ([ErrGuardUnavailable]), and 500 when the key source or the
//     guard fails otherwise: either way the sender retries later instead
//     of taking the refusal as final.
//
// They never hold secret material, the signature, nor the text of an
// error from owner, the key source or the replay guard.
//
// An option out of range, a negative MaxBody, is refused with an
// [*OptionError] that names it. Middleware panics if v or owner is nil, and
// the middleware if the handler it wraps is nil: programmer errors.
func Middleware(v *Verifier, owner func(*http.Request) (string, error), opts *MiddlewareOptions) (func(http.Handler) http.Handler, error) {
	if v == nil || owner == nil {
		panic("hmacsign: Middleware with a nil Verifier or owner func")
	}
	var o MiddlewareOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxBody < 0 {
		return nil, &OptionError{Field: "MaxBody", Reason: "must not be negative"}
	}
	maxBody := int64(DefaultMaxBody)
	if o.MaxBody != 0 {
		maxBody = o.MaxBody
	}
	answer := o.Error
	if answer == nil {
		answer = writeProblem
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("hmacsign: Middleware wrapping a nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			who, err := owner(r)
			if err != nil {
				// Its text is the service's: it stays out of the answer.
				answer(w, r, refuse(ErrUnknownOwner, "the request names no known owner"))
				return
			}
			if r.ContentLength > maxBody {
				answer(w, r, ErrBodyTooLarge)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					answer(w, r, ErrBodyTooLarge)
					return
				}
				answer(w, r, ErrUnreadableBody)
				return
			}
			keyID, msgID, err := v.verifyRequest(r.Context(), who, r.Header, body)
			if err != nil {
				answer(w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			ctx := NewContext(r.Context(), Verified{Owner: who, KeyID: keyID, MessageID: msgID})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}, nil
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// writeProblem is Middleware's answer to a refusal when its options name
// no other: a problem whose code is Code's. Only a VerifyError's detail
// is sent, which says which check failed and nothing of the keys.
func writeProblem(w http.ResponseWriter, _ *http.Request, err error) {
	status, detail := http.StatusUnauthorized, "the signature is not valid"
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		status, detail = http.StatusRequestEntityTooLarge, "the body is larger than the limit"
	case errors.Is(err, ErrUnreadableBody):
		status, detail = http.StatusBadRequest, "the body could not be read"
	case errors.Is(err, ErrGuardUnavailable):
		// The guard fails closed while its backend is away: the sender
		// should retry, as it would after any outage of the receiver.
		status, detail = http.StatusServiceUnavailable, "the replay guard is unavailable; retry later"
		w.Header().Set("Retry-After", "1")
	case !errors.Is(err, ErrInvalidSignature):
		// A key source or replay guard failed: its text may name
		// internals, so it stays out of the answer.
		status, detail = http.StatusInternalServerError, "the signature could not be checked"
	}
	if verr, ok := errors.AsType[*VerifyError](err); ok {
		detail = verr.Detail
	}
	body, _ := json.Marshal(problem{ // a struct of strings and an int always marshals
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   Code(err),
	})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
