package scanning

import "errors"

// Sentinel errors, for [errors.Is]. None of them, nor any error this
// package returns, holds a reported token, a signature or a key URL's
// query.
var (
	// ErrInvalidSignature: a report's signature is missing, malformed, made
	// by a key the source does not hold, or does not match its body. It
	// comes as a [*SignatureError]. A [Handler] answers it with 401.
	ErrInvalidSignature = errors.New("scanning: invalid signature")
	// ErrUnknownKey: no public key has the identifier asked for. A
	// [KeySource] returns it; [Verify] wraps it in a [*SignatureError],
	// which matches both.
	ErrUnknownKey = errors.New("scanning: unknown public key")
	// ErrKeysUnavailable: the public keys could not be had, such as when
	// no fetch has succeeded yet. A [Handler] answers it with 503, so
	// that the report is sent again.
	ErrKeysUnavailable = errors.New("scanning: public keys unavailable")
	// ErrInvalidKeys: a list of public keys is not the JSON GitHub
	// publishes, or holds a key that is not ECDSA P-256. It comes as a
	// [*KeysError].
	ErrInvalidKeys = errors.New("scanning: invalid public keys")
)

// SignatureError says which check of a report's signature failed. It
// matches [ErrInvalidSignature], and [ErrUnknownKey] when that is why.
type SignatureError struct {
	// Reason is the check that failed, such as "missing
	// Github-Public-Key-Signature" or "signature does not match".
	Reason string
	err    error // ErrUnknownKey, or nil
}

// Error returns the reason, never the signature or the body.
func (e *SignatureError) Error() string { return "scanning: invalid signature: " + e.Reason }

// Is reports whether target is [ErrInvalidSignature], or the error that
// caused the failure.
func (e *SignatureError) Is(target error) bool {
	return target == ErrInvalidSignature || e.err != nil && target == e.err
}

// KeysError reports a list of public keys that cannot be used. It
// matches [ErrInvalidKeys].
type KeysError struct {
	// Index is the entry of "public_keys" at fault, or -1 for the whole
	// list.
	Index  int
	Reason string
}

// Error returns the entry and the reason.
func (e *KeysError) Error() string {
	if e.Index < 0 {
		return "scanning: invalid public keys: " + e.Reason
	}
	return "scanning: invalid public keys: public_keys[" + itoa(e.Index) + "]: " + e.Reason
}

// Unwrap returns [ErrInvalidKeys].
func (e *KeysError) Unwrap() error { return ErrInvalidKeys }

// OptionError reports an option out of range, given to [New] or
// [NewFetchedKeys]: which one, and why. It never quotes the value, which
// for a URL may hold credentials.
type OptionError struct {
	Field  string // such as "Options.MaxBodyBytes" or "url"
	Reason string // such as "must not be negative"
}

// Error returns "scanning: invalid option <Field>: <Reason>".
func (e *OptionError) Error() string {
	return "scanning: invalid option " + e.Field + ": " + e.Reason
}
