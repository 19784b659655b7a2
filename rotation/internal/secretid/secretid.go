// Package secretid makes and recognizes the ids package rotation gives
// secrets and their values, for rotation and for the packages under it
// that must tell an id from text that might be a pasted key.
package secretid

import (
	"crypto/rand"
	"strings"
)

// NotAnID stands, in errors and responses, for text that was passed where
// a secret id belongs but has no id's shape, such as a pasted key: nothing
// the library says ever repeats what might be a secret.
const NotAnID = "(not a secret id)"

const (
	keyPrefix   = "sec_"
	valuePrefix = "val_"
	bodyLen     = 26 // the length of rand.Text
)

// New returns a fresh secret id: "sec_" and 26 random lower-case base32
// characters.
func New() string { return keyPrefix + strings.ToLower(rand.Text()) }

// NewValue returns a fresh value id: "val_" and 26 random lower-case
// base32 characters.
func NewValue() string { return valuePrefix + strings.ToLower(rand.Text()) }

// Is reports whether s has the shape of the ids [New] makes.
func Is(s string) bool {
	rest, ok := strings.CutPrefix(s, keyPrefix)
	if !ok || len(rest) != bodyLen {
		return false
	}
	for _, c := range []byte(rest) {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// Shown returns id if it has the shape of a secret id, and NotAnID
// otherwise.
func Shown(id string) string {
	if !Is(id) {
		return NotAnID
	}
	return id
}
