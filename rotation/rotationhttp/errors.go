package rotationhttp

import (
	"errors"
	"fmt"
	"time"

	"github.com/rotorkit/rotor/rotation"
)

// Sentinels for [errors.Is]. The typed errors below match them and carry
// what [FailureFor] needs to build the response.
var (
	// ErrBodyTooLarge: the request body is larger than [MaxBody]. It comes
	// as a [*BodyError] and maps to 413.
	ErrBodyTooLarge = errors.New("rotationhttp: request body too large")
	// ErrInvalidBody: the request body is not JSON, not one object, or a
	// member is unknown, repeated, of the wrong type or out of range. It
	// comes as a [*BodyError], also matches [rotation.ErrValidation], and
	// maps to 422.
	ErrInvalidBody = errors.New("rotationhttp: invalid request body")
	// ErrUnreadableBody: the request body could not be read, most often
	// because the client went away. It comes as a [*BodyError] and maps
	// to 400.
	ErrUnreadableBody = errors.New("rotationhttp: unreadable request body")
	// ErrRateLimited: the key has used up its requests for the minute. It
	// comes as a [*RateLimitError] and maps to 429.
	ErrRateLimited = errors.New("rotationhttp: rate limit reached")
	// ErrPermissionDenied: the key is valid and has the route's scope, but
	// the handler refuses this action to it. Package rotation never
	// returns it; handlers do, wrapped or as is, for checks of their own
	// (such as a permission kept in a secret's metadata). It maps to 403
	// with code permission_denied.
	ErrPermissionDenied = errors.New("rotationhttp: permission denied")
)

// BodyError reports a request body that [DecodeJSON] or [DecodeRegenerate]
// refused; nothing was decoded. It matches its Err, and, when Err is
// [ErrInvalidBody], [rotation.ErrValidation] too. It never holds the body
// or a value from it, only member names: the decoded struct's own, or the
// client's when at most 23 bytes long or shaped like a secret id.
type BodyError struct {
	// Field is the JSON member at fault, such as
	// "oldSecretValidForSeconds", or "body" when the body as a whole is
	// (malformed JSON, not an object, trailing data, too large) or when
	// the member's name is too long to repeat safely.
	Field string
	// Reason says what is allowed, such as "must be a whole number from 0
	// to 3600".
	Reason string
	// Err is ErrInvalidBody, ErrBodyTooLarge or ErrUnreadableBody.
	Err error
}

// Error returns "rotationhttp: invalid field: reason".
func (e *BodyError) Error() string {
	return "rotationhttp: invalid " + e.Field + ": " + e.Reason
}

// Unwrap returns Err.
func (e *BodyError) Unwrap() error { return e.Err }

// Is reports whether target is [rotation.ErrValidation] and the body was
// invalid rather than too large, so handlers that branch on validation
// failures need one check.
func (e *BodyError) Is(target error) bool {
	return target == rotation.ErrValidation && e.Err == ErrInvalidBody
}

// RateLimitError reports a request refused because its key has used up
// its per-minute rate limit. It matches [ErrRateLimited].
type RateLimitError struct {
	SecretID   string        // the key's id, never the key
	Limit      int           // requests permitted per minute
	RetryAfter time.Duration // until the next request would be allowed
}

// Error says the key's id, its limit and when to retry.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rotationhttp: rate limit of %d requests a minute reached [secret %s]; retry after %v",
		e.Limit, e.SecretID, e.RetryAfter)
}

// Is reports whether target is [ErrRateLimited].
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// OptionError reports an argument of this package's configuration that
// cannot work: an [Options] field out of range given to [NewAuthenticator],
// or a bound such as [DecodeRegenerate]'s maxGrace that is not positive.
// It is the service's mistake, never the client's: it matches
// [rotation.ErrMisconfigured], and [FailureFor] answers it with a bare
// 500. It names the field and what is wrong, never a value.
type OptionError struct {
	Field  string // the option or argument, such as "Realm" or "maxGrace"
	Reason string
}

// Error returns "rotationhttp: invalid option field: reason".
func (e *OptionError) Error() string {
	return "rotationhttp: invalid option " + e.Field + ": " + e.Reason
}

// Is reports whether target is [rotation.ErrMisconfigured].
func (e *OptionError) Is(target error) bool { return target == rotation.ErrMisconfigured }
