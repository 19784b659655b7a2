package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"
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

// Digester computes the [Digest] of keys: plain SHA-256, or HMAC-SHA256
// keyed with a server-side pepper, so that a stolen table of digests cannot
// be checked against guesses without the pepper as well.
//
// The zero Digester computes plain SHA-256; use [NewDigester] for a pepper.
// A Digester is safe for concurrent use, and so are copies of it.
type Digester struct {
	// pepper is the HMAC key; zero means plain SHA-256.
	pepper Value
	// keyed is HMAC-SHA256 under pepper with the key pads already absorbed.
	// It is shared by every copy of the Digester, so it is only ever
	// cloned, never written to. Nil if the hash cannot be cloned (as in
	// some FIPS 140 modes), in which case each digest keys a new HMAC.
	keyed hash.Cloner
}

// NewDigester returns a Digester that computes HMAC-SHA256(pepper, key), or
// plain SHA-256 if pepper is empty. The pepper is never exposed.
func NewDigester(pepper Value) Digester {
	if pepper.IsZero() {
		return Digester{}
	}
	d := Digester{pepper: pepper}
	h := hmac.New(sha256.New, []byte(pepper.Reveal()))
	// Reset makes the HMAC save its keyed state, which every clone then
	// restores instead of hashing the pads again.
	h.Reset()
	if c, ok := h.(hash.Cloner); ok {
		if _, err := c.Clone(); err == nil {
			d.keyed = c
		}
	}
	return d
}

// Digest returns the digest of key, the full key string as presented.
func (d Digester) Digest(key string) Digest {
	if d.pepper.IsZero() {
		// Hashing a copy on the stack spares the heap copy that []byte(key)
		// makes of keys longer than 32 bytes.
		var buf [128]byte
		if len(key) <= len(buf) {
			return sha256.Sum256(buf[:copy(buf[:], key)])
		}
		return sha256.Sum256([]byte(key))
	}
	var h hash.Hash
	if d.keyed != nil {
		if c, err := d.keyed.Clone(); err == nil {
			h = c
		}
	}
	if h == nil {
		h = hmac.New(sha256.New, []byte(d.pepper.Reveal()))
	}
	_, _ = io.WriteString(h, key) // a hash.Hash never fails to write
	var out Digest
	h.Sum(out[:0])
	return out
}

// DigestValue returns the digest of v. It equals d.Digest(v.Reveal()).
func (d Digester) DigestValue(v Value) Digest { return d.Digest(v.Reveal()) }
