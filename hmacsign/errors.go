package hmacsign

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error this package returns that a caller may want to
// branch on matches one of them with [errors.Is]. None of them, nor any error
// that wraps them, ever holds a key, a MAC or the contents of a signature
// header.
var (
	// ErrInvalidSignature is matched by every refusal of [Verifier.Verify]
	// and [Verifier.VerifyRequest], whichever check failed. The more
	// specific errors below match it too, except [ErrNoKeys], which a
	// refusal matches along with it.
	ErrInvalidSignature = errors.New("hmacsign: invalid signature")

	// ErrMissingHeader means a header the scheme needs (id, timestamp or
	// signature) is absent or empty.
	ErrMissingHeader = fmt.Errorf("%w: missing header", ErrInvalidSignature)

	// ErrMalformedHeader means a header is present but unusable: the
	// timestamp is not a decimal integer, or the signature header holds no
	// entry of a known version that decodes to a 32-byte MAC.
	ErrMalformedHeader = fmt.Errorf("%w: malformed header", ErrInvalidSignature)

	// ErrTimestampTooOld means the message's timestamp is further in the
	// past than the verifier's tolerance.
	ErrTimestampTooOld = fmt.Errorf("%w: timestamp too old", ErrInvalidSignature)

	// ErrTimestampTooNew means the message's timestamp is further in the
	// future than the verifier's tolerance.
	ErrTimestampTooNew = fmt.Errorf("%w: timestamp too new", ErrInvalidSignature)

	// ErrNoMatch means no signature entry matches any key valid for the
	// owner at that instant.
	ErrNoMatch = fmt.Errorf("%w: no matching signature", ErrInvalidSignature)

	// ErrReplayed means the message verified but its id was already seen
	// within the tolerance, as the verifier's [ReplayGuard] reports.
	ErrReplayed = fmt.Errorf("%w: replayed message", ErrInvalidSignature)

	// ErrGuardUnavailable means a [ReplayGuard] could not tell whether a
	// message was seen before, because the backend that keeps its
	// entries cannot be reached, and so the message was refused rather
	// than let through unchecked. It is no verdict on the signature (it
	// does not match ErrInvalidSignature) and it passes: the sender should
	// retry, and [Middleware] and package rotationhttp answer it 503. A guard returns it
	// wrapped, with the backend's own error, and the Verifier wraps that.
	ErrGuardUnavailable = errors.New("hmacsign: replay guard unavailable")

	// ErrUnknownOwner means [Middleware] could not tell whose keys must
	// have signed a request: its owner function failed.
	ErrUnknownOwner = fmt.Errorf("%w: unknown owner", ErrInvalidSignature)

	// ErrBodyTooLarge means [Middleware] refused a body larger than its
	// limit, before verifying anything.
	ErrBodyTooLarge = errors.New("hmacsign: body too large")

	// ErrUnreadableBody means [Middleware] could not read a request's
	// body, most often because the client went away.
	ErrUnreadableBody = errors.New("hmacsign: unreadable body")

	// ErrNoKeys means the owner has no key valid now that the scheme can
	// use. A [Signer] then refuses to sign, and a [Verifier] refuses every
	// message (its error also matches [ErrInvalidSignature]): with nothing
	// to check against, nothing is accepted.
	ErrNoKeys = errors.New("hmacsign: no valid keys")

	// ErrInvalidKey means [NewKey] or [NewWebhookKey] refused its
	// arguments. It comes as a [*KeyError].
	ErrInvalidKey = errors.New("hmacsign: invalid key")

	// ErrWeakKey means an HMAC key derived from a secret is shorter than
	// [MinKeySize] bytes. It matches [ErrInvalidKey] and comes as a
	// [*KeyError].
	ErrWeakKey = fmt.Errorf("%w: weak key", ErrInvalidKey)

	// ErrInvalidMessageID means [Signer.Sign] or [Signer.SignAt] was given
	// a message id that cannot travel in an HTTP header: every byte must be
	// printable ASCII other than space.
	ErrInvalidMessageID = errors.New("hmacsign: invalid message id")

	// ErrInvalidTimestamp means [Signer.SignAt] (or [Signer.Sign], by its
	// clock) was asked to stamp a message with an instant before the Unix
	// epoch, such as the zero time.Time, which a timestamp header cannot
	// carry.
	ErrInvalidTimestamp = errors.New("hmacsign: invalid timestamp")
)

// VerifyError reports why a message was refused. It matches
// [ErrInvalidSignature] and its Err.
//
// It says which check failed and which header was at fault, never anything
// about the keys, the expected MAC or the header's contents, so it is safe
// to log and to send back to the sender.
type VerifyError struct {
	// Err is the specific sentinel: [ErrMissingHeader],
	// [ErrMalformedHeader], [ErrTimestampTooOld], [ErrTimestampTooNew],
	// [ErrNoMatch], [ErrNoKeys], [ErrReplayed] or, from [Middleware],
	// [ErrUnknownOwner].
	Err error
	// Detail says what was wrong, such as "webhook-timestamp is not a
	// decimal integer".
	Detail string
}

// Error returns the failed check and the detail.
func (e *VerifyError) Error() string { return e.Err.Error() + ": " + e.Detail }

// Unwrap returns Err.
func (e *VerifyError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidSignature], which every refusal
// matches, even one whose Err does not wrap it ([ErrNoKeys]).
func (e *VerifyError) Is(target error) bool { return target == ErrInvalidSignature }

// KeyError reports a secret or id that [NewKey] or [NewWebhookKey]
// refuses. It matches [ErrInvalidKey], and [ErrWeakKey] when a derived
// key is too short.
//
// It holds the key's id, never the secret nor any part of it.
type KeyError struct {
	ID     string // the id given to NewKey or NewWebhookKey
	Reason string // which check failed, such as "empty id"
	Err    error  // ErrWeakKey or ErrInvalidKey
}

// Error returns the id and the reason.
func (e *KeyError) Error() string {
	return "hmacsign: key " + strconv.Quote(e.ID) + ": " + e.Reason
}

// Unwrap returns Err.
func (e *KeyError) Unwrap() error { return e.Err }

// OptionError reports an option that [NewVerifier], [Middleware] or
// [NewMemoryReplayGuard] refuses because it is out of range, such as a
// negative [VerifierOptions].Tolerance. A zero option means its documented
// default and is never refused.
//
// An OptionError is a mistake in the caller's configuration, not a
// condition to branch on at run time; it matches no sentinel. It names the
// field and what is wrong with it, never the value.
type OptionError struct {
	// Field is the option at fault as the Go code spells it: a field of
	// the options struct ("Tolerance", "MaxBody") or, for
	// NewMemoryReplayGuard, its parameter ("max").
	Field string
	// Reason says what is wrong, such as "must not be negative".
	Reason string
}

// Error returns "hmacsign: invalid option <Field>: <Reason>".
func (e *OptionError) Error() string {
	return "hmacsign: invalid option " + e.Field + ": " + e.Reason
}

// Code returns the stable machine code that names what err says, for a
// response: which check of a signature failed ("missing_header",
// "malformed_header", "timestamp_too_old", "timestamp_too_new",
// "no_matching_signature", "no_valid_keys", "replayed", "unknown_owner",
// or "invalid_signature" for any other refusal), "body_too_large" and
// "unreadable_body" for [Middleware]'s refusals of a body,
// "guard_unavailable" when a [ReplayGuard] could not be asked, and
// "internal_error" for anything else, such as a failed key source. It is
// the one table of these codes: [Middleware] answers with it, and so does
// package rotationhttp.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal_error"
}

// codes are the sentinels Code knows, the more precise first.
var codes = []struct {
	err  error
	code string
}{
	{ErrMissingHeader, "missing_header"},
	{ErrMalformedHeader, "malformed_header"},
	{ErrTimestampTooOld, "timestamp_too_old"},
	{ErrTimestampTooNew, "timestamp_too_new"},
	{ErrReplayed, "replayed"},
	{ErrUnknownOwner, "unknown_owner"},
	{ErrNoKeys, "no_valid_keys"},
	{ErrNoMatch, "no_matching_signature"},
	{ErrInvalidSignature, "invalid_signature"},
	{ErrBodyTooLarge, "body_too_large"},
	{ErrUnreadableBody, "unreadable_body"},
	{ErrGuardUnavailable, "guard_unavailable"},
}
