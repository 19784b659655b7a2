package rotation

import (
	"errors"
	"fmt"
	"net/netip"

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
	// ErrNotActive: the secret is expired or revoked, so it cannot be
	// regenerated, updated or designated.
	ErrNotActive = errors.New("secret is not active")
	// ErrCannotSign: the secret keeps no sealed value (it was created
	// without HMAC, in a format other than the webhook one), so it cannot
	// be designated to sign webhooks.
	ErrCannotSign = errors.New("secret cannot sign")
	// ErrStale: the secret's current value is no longer the one the caller
	// named; someone regenerated it meanwhile. See [Rotator.RegenerateIf].
	ErrStale = errors.New("secret was regenerated meanwhile")
	// ErrValidation: an argument is out of range; see [ValidationError].
	ErrValidation = errors.New("invalid argument")
	// ErrConflict: the owner changed concurrently on every attempt and the
	// change was given up; nothing was changed. Retrying later is safe.
	ErrConflict = errors.New("too many concurrent changes")
	// ErrMisconfigured: the Rotator's options cannot do what was asked,
	// such as sealing a value with no Options.Keyring. It is the service's
	// fault, never the caller's; see [OptionError].
	ErrMisconfigured = errors.New("rotator misconfigured")

	// ErrMissingKey: no key was presented.
	ErrMissingKey = errors.New("missing key")
	// ErrInvalidKey: the key is malformed, fails its checksum, or is
	// unknown. Errors for expired and revoked keys match it too.
	ErrInvalidKey = errors.New("invalid key")
	// ErrExpired: the key's expiry, or the grace window of the previous
	// value presented, has passed.
	ErrExpired = errors.New("key expired")
	// ErrRevoked: the key was revoked.
	ErrRevoked = errors.New("key revoked")
	// ErrNetworkNotAllowed: the client address is outside the key's
	// authorized networks.
	ErrNetworkNotAllowed = errors.New("network not allowed for key")
	// ErrScopeNotGranted: the key lacks the scope the request needs.
	ErrScopeNotGranted = errors.New("scope not granted")
	// ErrOverloaded: a presented key is not in the cache, and the store
	// lookups that unknown keys may cost are used up for now
	// (CacheOptions.MaxMissLookups), so it was not looked up. The key may
	// be valid: retry later. An HTTP layer answers it with 503.
	ErrOverloaded = errors.New("too many lookups of unknown keys")
)

// ErrNoChanges reports that the store can tell of no changes other
// processes make: it implements neither [store.ChangeLog] nor
// [store.Notifier] (memstore implements neither),
// so cached keysets live for CacheOptions.MaxAge. It matches
// [errors.ErrUnsupported].
var ErrNoChanges = fmt.Errorf("rotation: the store reports no changes: %w", errors.ErrUnsupported)

// ErrNoSweep reports that the store can list neither the owners with
// something due ([store.DueLister]) nor all its owners
// ([store.OwnerLister]), so [Rotator.Sweep] cannot find what is due: the
// lifecycle events are then sent only by the changes saved once they
// are due. It matches [errors.ErrUnsupported].
var ErrNoSweep = fmt.Errorf("rotation: the store cannot list owners to sweep: %w", errors.ErrUnsupported)

// SecretError reports an operation refused for one secret, in the manner
// of [io/fs.PathError]. Err is one of ErrNotFound, ErrDesignated,
// ErrNotManaged, ErrNotActive, ErrCannotSign and ErrStale.
type SecretError struct {
	Op    string // "regenerate", "update", "designate", "revoke", "delete", "get"
	Owner string // the owner named in the call
	// ID is the secret named in the call if it has the shape of a secret
	// id, and "(not a secret id)" otherwise: an error never repeats what
	// might be a key pasted where an id belongs.
	ID     string
	Status Status // the secret's status when refused; 0 when it was not found
	Err    error
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
// was changed. It matches [ErrValidation]. Its text names the field and
// the rule, never the value.
type ValidationError struct {
	Field  string // the argument, such as "grace", "Name" or "Metadata"
	Reason string // what is allowed, such as "must be from 0s to 1h0m0s"
}

// Error returns "rotation: invalid field: reason".
func (e *ValidationError) Error() string {
	return "rotation: invalid " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrValidation].
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// validation turns a rule of package store broken by what the caller
// passed into a [*ValidationError] naming the same field.
func validation(err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return &ValidationError{Field: ve.Field, Reason: ve.Reason}
	}
	return err
}

// OptionError reports Options that cannot work: a field out of range,
// given to [New], or a field a call needs and the Rotator lacks, such as
// a Keyring to seal with. It matches [ErrMisconfigured], never
// [ErrValidation]: an HTTP layer answers it with a 500 that says nothing.
type OptionError struct {
	Field  string // the Options field, such as "Policy.MaxActive" or "Keyring"
	Reason string
}

// Error returns "rotation: invalid option field: reason".
func (e *OptionError) Error() string {
	return "rotation: invalid option " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrMisconfigured].
func (e *OptionError) Is(target error) bool { return target == ErrMisconfigured }

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

// Is reports whether target is the reason; expired and revoked keys also
// match [ErrInvalidKey], as a handler answering "invalid token" wants. A
// method rather than a list of errors to unwrap, which errors.Is would
// build anew at every step of every check of a refusal.
func (e *AuthError) Is(target error) bool {
	if errors.Is(e.Err, target) {
		return true
	}
	return target == ErrInvalidKey && (errors.Is(e.Err, ErrExpired) || errors.Is(e.Err, ErrRevoked))
}

// Unwrap returns why a key is invalid, such as a bad checksum, if known.
func (e *AuthError) Unwrap() error { return e.cause }
