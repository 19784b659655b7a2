package secrets

import (
	"crypto/subtle"
	"encoding/hex"
)

// Digest is the SHA-256 digest of a full key, optionally keyed with a
// server pepper (see [Digester]). Stores index secrets by it; it is not
// secret material, but it is never printed in full either.
type Digest [32]byte

// Equal reports whether d and o are the same digest, in constant time.
func (d Digest) Equal(o Digest) bool {
	return subtle.ConstantTimeCompare(d[:], o[:]) == 1
}

// IsZero reports whether d is the zero digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns a short, non-reversible tag for d, enough to tell digests
// apart in a debugger and never enough to look a key up.
func (d Digest) String() string { return "sha256:" + hex.EncodeToString(d[:4]) + "…" }
