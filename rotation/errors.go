package rotation

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rotorkit/rotor/store"
)

// Sentinels for [errors.Is]. The typed errors below wrap them and carry the
// details a handler needs to build its response.
var (
	// ErrNotFound: no such secret for this owner.
	ErrNotFound = errors.New("secret not found")
	// ErrLimitReached: the owner already has the most active secrets the
	// policy allows; see [LimitError].
	ErrLimitReached = errors.New("limit of active secrets reached")
	// ErrDesignated: the secret signs the owner's webhooks, so it cannot
	// be deleted or revoked; designate another one first.
	ErrDesignated = errors.New("secret is designated for signing")
	// ErrNotManaged: the secret is custom and can only be created and
	// deleted, not regenerated.
	ErrNotManaged = errors.New("secret is custom and cannot be regenerated")
	// ErrNotActive: the secret is in grace, expired or revoked, so it
	// cannot be regenerated or designated.
	ErrNotActive = errors.New("secret is not active")
	// ErrValidation: an argument is out of range; see [ValidationError].
	ErrValidation = errors.New("invalid argument")
	// ErrConflict: the owner changed concurrently on every attempt and the
	// change was given up; nothing was changed. Retrying later is safe.
	ErrConflict = errors.New("too many concurrent changes")

	// ErrMissingKey: no key was presented.
	ErrMissingKey = errors.New("missing key")
	// ErrInvalidKey: the key is malformed, fails its checksum, or is
	// unknown. Errors for expired and revoked keys match it too.
	ErrInvalidKey = errors.New("invalid key")
	// ErrExpired: the key's expiry or grace window has passed.
	ErrExpired = errors.New("key expired")
	// ErrRevoked: the key was revoked.
	ErrRevoked = errors.New("key revoked")
	// ErrNetworkNotAllowed: the client address is outside the key's
	// authorized networks.
	ErrNetworkNotAllowed = errors.New("network not allowed for key")
	// ErrScopeNotGranted: the key lacks the scope the request needs.
	ErrScopeNotGranted = errors.New("scope not granted")
)

// SecretError reports an operation refused for one secret, in the manner
// of [io/fs.PathError]. Err is one of ErrNotFound, ErrDesignated,
// ErrNotManaged and ErrNotActive.
type SecretError struct {
	Op     string       // "regenerate", "designate", "revoke", "delete", "get"
	Owner  string       // the owner named in the call
	ID     string       // the secret named in the call, or NotAnID
	Status store.Status // the secret's status when refused; 0 when it was not found
	Err    error
}

// NotAnID stands in a [SecretError] for an id that no Rotator could have
// made, such as a key pasted where an id belongs: an error never repeats
// what might be a secret.
const NotAnID = "(not a secret id)"

// IsID reports whether s has the shape of the secret ids a [Rotator]
// makes: "sec_" and 26 lower-case base32 characters.
func IsID(s string) bool {
	rest, ok := strings.CutPrefix(s, "sec_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range []byte(rest) {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// shownID returns id if it has the shape of the ids newID makes, and
// NotAnID otherwise.
func shownID(id string) string {
	if !IsID(id) {
		return NotAnID
	}
	return id
}

// Error returns "rotation: op id: reason (status)".
func (e *SecretError) Error() string {
	msg := "rotation: " + e.Op + " " + e.ID + ": " + e.Err.Error()
	if e.Status != 0 {
		msg += " (" + e.Status.String() + ")"
	}
	return msg
}

// Unwrap returns the sentinel, for [errors.Is].
func (e *SecretError) Unwrap() error { return e.Err }

// LimitError reports that creating a secret would exceed the policy's
// limit of active secrets. It matches [ErrLimitReached].
type LimitError struct {
	Owner string
	Limit int // the policy's MaxActive
}

// Error says the limit and the owner.
func (e *LimitError) Error() string {
	return fmt.Sprintf("rotation: create for %s: limit of %d active secrets reached", e.Owner, e.Limit)
}

// Is reports whether target is [ErrLimitReached].
func (e *LimitError) Is(target error) bool { return target == ErrLimitReached }

// ValidationError reports an argument out of its allowed range; nothing
// was changed. It matches [ErrValidation].
type ValidationError struct {
	Field  string // the argument, such as "grace" or "name"
	Reason string // what is allowed, such as "must be from 0s to 1h0m0s"
}

// Error returns "rotation: invalid field: reason".
func (e *ValidationError) Error() string {
	return "rotation: invalid " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrValidation].
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// AuthError reports why [Rotator.Authenticate] refused a key. Err is the
// reason: one of ErrMissingKey, ErrInvalidKey, ErrExpired, ErrRevoked,
// ErrNetworkNotAllowed and ErrScopeNotGranted. It never holds the key.
type AuthError struct {
	Err      error
	Owner    string     // the key's owner, once the key was found
	SecretID string     // the key's id, once the key was found
	IP       netip.Addr // the client address, for ErrNetworkNotAllowed
	Scope    string     // the scope required, for ErrScopeNotGranted
	cause    error      // why a key is invalid, such as a bad checksum
}

// Error says why the key was refused, with the secret's id once known;
// never the key.
func (e *AuthError) Error() string {
	msg := "rotation: authenticate: " + e.Err.Error()
	switch {
	case e.Err == ErrNetworkNotAllowed:
		msg += " (client " + e.IP.String() + ")"
	case e.Err == ErrScopeNotGranted:
		msg += " (" + e.Scope + ")"
	case e.cause != nil:
		msg += ": " + e.cause.Error()
	}
	if e.SecretID != "" {
		msg += " [secret " + e.SecretID + "]"
	}
	return msg
}

// Unwrap returns the reason and its cause; expired and revoked keys also
// unwrap to [ErrInvalidKey], as a handler answering "invalid token"
// wants.
func (e *AuthError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Err == ErrExpired || e.Err == ErrRevoked {
		errs = append(errs, ErrInvalidKey)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}
