package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotorkit/rotor/secrets"
)

// Bounds on what a key may carry, checked by [Attributes.Validate]. Every
// backend stores at least this much, so a keyset valid on one is valid on
// all.
const (
	MaxOwnerLen         = 200 // bytes of an owner
	MaxIDLen            = 64  // bytes of a key or value id
	MaxNameLen          = 200 // bytes of a name
	MaxScopes           = 100 // scopes of one key
	MaxScopeLen         = 200 // bytes of one scope
	MaxNetworks         = 100 // networks of one key
	MaxMetadata         = 50  // metadata entries of one key
	MaxMetadataKeyLen   = 40  // bytes of a metadata key
	MaxMetadataValueLen = 500 // bytes of a metadata value
)

// maxHintLen bounds a hint: four characters of at most four bytes.
const maxHintLen = 16

// MaxExpiresAt is the latest expiry a key may have, the last second of the
// year 9999: every backend keeps instants to it exactly (SQL ones as
// microseconds in 64 bits, which hold far less than a time.Time can).
var MaxExpiresAt = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// ValidationError reports a keyset, or attributes, that break a rule of
// the contract, and where: Field is a path such as "Name",
// "Keys[2].Metadata" or "Signing". It never quotes the offending value.
// It matches [ErrInvalid].
type ValidationError struct {
	Field  string
	Reason string
}

// Error returns "store: invalid field: reason".
func (e *ValidationError) Error() string {
	return "store: invalid " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Validate returns a [*ValidationError] for the first rule a breaks, and
// nil if it breaks none. Text must be valid UTF-8 without NUL bytes, which
// every backend can store as it is; bounds are the Max constants of this
// package. A Format must be valid, and a key in the webhook format must
// have HMAC set.
func (a *Attributes) Validate() error {
	if reason := checkText(a.Name, MaxNameLen); reason != "" {
		return &ValidationError{Field: "Name", Reason: reason}
	}
	if err := a.Format.Validate(); err != nil {
		return &ValidationError{Field: "Format", Reason: err.Error()}
	}
	if a.Format.IsWebhook() && !a.HMAC {
		return &ValidationError{Field: "HMAC", Reason: "must be set for a key in the webhook format"}
	}
	if len(a.Scopes) > MaxScopes {
		return &ValidationError{Field: "Scopes", Reason: fmt.Sprintf("must hold at most %d scopes", MaxScopes)}
	}
	for i, s := range a.Scopes {
		if s == "" {
			return &ValidationError{Field: "Scopes", Reason: "must not hold an empty scope"}
		}
		if reason := checkText(s, MaxScopeLen); reason != "" {
			return &ValidationError{Field: "Scopes", Reason: "scope " + strconv.Itoa(i) + " " + reason}
		}
	}
	if len(a.Networks) > MaxNetworks {
		return &ValidationError{Field: "Networks", Reason: fmt.Sprintf("must hold at most %d networks", MaxNetworks)}
	}
	for i, p := range a.Networks {
		if !p.IsValid() || p != p.Masked() {
			return &ValidationError{Field: "Networks", Reason: "network " + strconv.Itoa(i) + " is not a network address with its prefix length"}
		}
	}
	if a.RateLimit < 0 {
		return &ValidationError{Field: "RateLimit", Reason: "must not be negative"}
	}
	if a.ExpiresAt.After(MaxExpiresAt) {
		return &ValidationError{Field: "ExpiresAt", Reason: "must be before the year 10000"}
	}
	if len(a.Metadata) > MaxMetadata {
		return &ValidationError{Field: "Metadata", Reason: fmt.Sprintf("must hold at most %d entries", MaxMetadata)}
	}
	for k, v := range a.Metadata {
		if k == "" {
			return &ValidationError{Field: "Metadata", Reason: "must not have an empty key"}
		}
		if reason := checkText(k, MaxMetadataKeyLen); reason != "" {
			return &ValidationError{Field: "Metadata", Reason: "a key " + reason}
		}
		if reason := checkText(v, MaxMetadataValueLen); reason != "" {
			return &ValidationError{Field: "Metadata", Reason: "a value " + reason}
		}
	}
	return nil
}

// ValidOwner reports whether owner is one a keyset may have (see
// [Keyset.Validate]). A store was never given any other, so it answers
// such an owner as one it does not know, whatever its own rules for text.
func ValidOwner(owner string) bool {
	return owner != "" && checkText(owner, MaxOwnerLen) == ""
}

// checkText returns why s cannot be stored as text of at most max bytes,
// or "".
func checkText(s string, max int) string {
	switch {
	case len(s) > max:
		return "must be at most " + strconv.Itoa(max) + " bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL byte"
	}
	return ""
}

// Validate returns a [*ValidationError] for the first invariant k breaks,
// and nil if it keeps them all. It is the one statement of what every
// saved keyset is, which the Rotator checks before each save and every
// backend checks again in [Store.Save]:
//   - an owner of valid text, at most [MaxOwnerLen] bytes; a version not
//     negative;
//   - keys with ids unique in the keyset, valid [Attributes], and a
//     current value;
//   - values with ids unique in the keyset and digests unique in it, none
//     zero, and hints of valid text;
//   - a previous value always ends (a non-zero ExpiresAt), a current one
//     never does by itself;
//   - the values of an HMAC key are all sealed, and those of any other
//     key none;
//   - Signing is empty or names a key of the keyset that can sign and is
//     not revoked.
//
// Rules that depend on the time, such as whether a grace window is still
// open, are package rotation's.
func (k *Keyset) Validate() error {
	if k.Owner == "" {
		return &ValidationError{Field: "Owner", Reason: "must not be empty"}
	}
	if reason := checkText(k.Owner, MaxOwnerLen); reason != "" {
		return &ValidationError{Field: "Owner", Reason: reason}
	}
	if k.Version < 0 {
		return &ValidationError{Field: "Version", Reason: "must not be negative"}
	}
	keyIDs := make(map[string]bool, len(k.Keys))
	valueIDs := make(map[string]string, len(k.Keys))
	digests := make(map[secrets.Digest]string, len(k.Keys))
	for i := range k.Keys {
		r := &k.Keys[i]
		at := "Keys[" + strconv.Itoa(i) + "]"
		if reason := checkID(r.ID); reason != "" {
			return &ValidationError{Field: at + ".ID", Reason: reason}
		}
		if keyIDs[r.ID] {
			return &ValidationError{Field: at + ".ID", Reason: "repeats the id of another key"}
		}
		keyIDs[r.ID] = true
		if err := r.Attributes.Validate(); err != nil {
			ve := err.(*ValidationError)
			return &ValidationError{Field: at + "." + ve.Field, Reason: ve.Reason}
		}
		if !r.Current.ExpiresAt.IsZero() {
			return &ValidationError{Field: at + ".Current.ExpiresAt", Reason: "must be zero: a current value lasts as long as its key"}
		}
		if err := checkValue(r, &r.Current, at+".Current", valueIDs, digests); err != nil {
			return err
		}
		for j := range r.Previous {
			pat := at + ".Previous[" + strconv.Itoa(j) + "]"
			if r.Previous[j].ExpiresAt.IsZero() {
				return &ValidationError{Field: pat + ".ExpiresAt", Reason: "must be set: a previous value's grace window ends"}
			}
			if err := checkValue(r, &r.Previous[j], pat, valueIDs, digests); err != nil {
				return err
			}
		}
	}
	if k.Signing != "" {
		i := k.Find(k.Signing)
		switch {
		case i < 0:
			return &ValidationError{Field: "Signing", Reason: "names no key of the keyset"}
		case !k.Keys[i].CanSign():
			return &ValidationError{Field: "Signing", Reason: "names a key that cannot sign"}
		case !k.Keys[i].RevokedAt.IsZero():
			return &ValidationError{Field: "Signing", Reason: "names a revoked key"}
		}
	}
	return nil
}

// checkValue checks one value of r, found at path at, against the ids and
// digests seen so far in the keyset, and adds its own.
func checkValue(r *Record, v *Value, at string, ids map[string]string, digests map[secrets.Digest]string) error {
	if reason := checkID(v.ID); reason != "" {
		return &ValidationError{Field: at + ".ID", Reason: reason}
	}
	if other, ok := ids[v.ID]; ok {
		return &ValidationError{Field: at + ".ID", Reason: "repeats the id of " + other}
	}
	ids[v.ID] = at
	if v.Digest.IsZero() {
		return &ValidationError{Field: at + ".Digest", Reason: "must not be zero"}
	}
	// The message names where the other one is, never the digest.
	if other, ok := digests[v.Digest]; ok {
		return &ValidationError{Field: at + ".Digest", Reason: "repeats the digest of " + other}
	}
	digests[v.Digest] = at
	if reason := checkText(v.Hint, maxHintLen); reason != "" {
		return &ValidationError{Field: at + ".Hint", Reason: reason}
	}
	switch sealed := !v.Sealed.IsZero(); {
	case r.HMAC && !sealed:
		return &ValidationError{Field: at + ".Sealed", Reason: "must be set for a key that signs HMACs"}
	case !r.HMAC && sealed:
		return &ValidationError{Field: at + ".Sealed", Reason: "must be zero for a key that does not sign HMACs"}
	case sealed && (v.Sealed.KEKID == "" || len(v.Sealed.Ciphertext) == 0):
		return &ValidationError{Field: at + ".Sealed", Reason: "must name its key-encryption key and hold a ciphertext"}
	case sealed:
		if reason := checkText(v.Sealed.KEKID, secrets.MaxKEKIDLen); reason != "" {
			return &ValidationError{Field: at + ".Sealed.KEKID", Reason: reason}
		}
	}
	return nil
}

// checkID returns why id cannot be a key or value id, or "".
func checkID(id string) string {
	if id == "" {
		return "must not be empty"
	}
	return checkText(id, MaxIDLen)
}
