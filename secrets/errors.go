package secrets

import "errors"

// Sentinel errors. Every error this package returns that a caller may want to
// branch on matches one of them with [errors.Is]. None of them, nor any error
// that wraps them, ever contains secret material.
var (
	// ErrMalformedKey means a presented key does not have the shape or the
	// checksum of any [Format]. [ParseKey] and [HMACKey] return it as a
	// [*KeyError].
	ErrMalformedKey = errors.New("secrets: malformed key")

	// ErrInvalidFormat means a [Format], or a size asked of a generator, is
	// not allowed. It comes as a [*FormatError].
	ErrInvalidFormat = errors.New("secrets: invalid format")

	// ErrNotEncodable means something tried to encode a [Value] into a
	// JSON or text payload, or to decode one from it. (gob and
	// encoding/binary fail on a Value with errors of their own, since they
	// cannot see into one.) Secrets leave a process only through
	// [Value.Reveal].
	ErrNotEncodable = errors.New("secrets: secret values cannot be encoded")

	// ErrInvalidKEK means a key-encryption key has a bad id or key. It comes
	// as a [*KEKError].
	ErrInvalidKEK = errors.New("secrets: invalid key-encryption key")

	// ErrUnknownKEK means a [Sealed] value names a key-encryption key that the
	// [Keyring] does not hold.
	ErrUnknownKEK = errors.New("secrets: unknown key-encryption key")

	// ErrTampered means a [Sealed] value does not open: its ciphertext was
	// changed or cut short, it was sealed for another secret id, or under
	// another key with the same id.
	ErrTampered = errors.New("secrets: sealed value does not open")
)

// FormatError reports a [Format] that fails [Format.Validate], or a bad size
// given to [GenerateWebhookSecret]. It matches [ErrInvalidFormat].
type FormatError struct {
	Field  string // "prefix", "env" or "size"
	Reason string // what is wrong, such as "must start with a lower-case letter"
}

// Error returns the field and the reason.
func (e *FormatError) Error() string {
	return "secrets: invalid format: " + e.Field + " " + e.Reason
}

// Unwrap returns [ErrInvalidFormat].
func (e *FormatError) Unwrap() error { return ErrInvalidFormat }

// KeyError reports a presented key that [ParseKey] rejects, or a value that
// [HMACKey] cannot turn into an HMAC key. It matches [ErrMalformedKey].
//
// It never holds the key nor any part of it, so it is safe to log and to
// return to the client that presented the key.
type KeyError struct {
	Reason string // which check failed, such as "wrong length" or "bad checksum"
}

// Error returns the reason, never the key.
func (e *KeyError) Error() string { return "secrets: malformed key: " + e.Reason }

// Unwrap returns [ErrMalformedKey].
func (e *KeyError) Unwrap() error { return ErrMalformedKey }

// KEKError reports a key-encryption key that [GenerateKEK], [ParseKEK] or
// [NewKeyring] rejects. It matches [ErrInvalidKEK].
//
// It holds neither the key nor the id: an id and a key swapped by mistake
// must not put the key into a log.
type KEKError struct {
	Reason string // what is wrong, such as "others[1]: duplicate id"
}

// Error returns the reason.
func (e *KEKError) Error() string { return "secrets: invalid key-encryption key: " + e.Reason }

// Unwrap returns [ErrInvalidKEK].
func (e *KEKError) Unwrap() error { return ErrInvalidKEK }
