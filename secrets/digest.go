package secrets

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
)

// Digest is the SHA-256 digest of a full key, optionally keyed with a
// server pepper (see [Digester]). Stores index secrets by it.
//
// A Digest is not secret material, but it is not printed in full either:
// [Digest.String], fmt with any verb ([Digest.Format], [Digest.GoString])
// and log/slog ([Digest.LogValue]) show only the short tag String returns.
// Encoders see all of it, as a store that persists it needs:
// encoding/json writes an array of 32 numbers, gob and encoding/binary the
// bytes. So does fmt when a Digest sits in an unexported field of another
// struct, since fmt reads such fields without calling their methods.
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

// GoString returns the same as [Digest.String], what %#v prints.
func (d Digest) GoString() string { return d.String() }

// Format prints [Digest.String] for every verb, so that %x or %d never
// print the whole digest. Flags, width and precision are ignored.
func (d Digest) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, d.String())
}

// LogValue returns [Digest.String] as a string, so log/slog handlers log the
// short tag and not the 32 bytes.
func (d Digest) LogValue() slog.Value { return slog.StringValue(d.String()) }

// Digester computes the [Digest] of keys: plain SHA-256, or HMAC-SHA256
// keyed with a server-side pepper, so that a stolen table of digests cannot
// be checked against guesses without the pepper as well.
//
// A Digester never shows the pepper nor the HMAC pads made from it (from
// which the pepper follows): fmt prints "secrets.Digester(peppered)" or
// "secrets.Digester(sha256)" for every verb, log/slog logs the same, and
// the pads are kept where reflection cannot reach them, so neither can fmt
// printing a struct that holds a Digester, go-cmp, nor a dumper.
//
// The zero Digester computes plain SHA-256; use [NewDigester] for a pepper.
// A Digester is safe for concurrent use, and so are copies of it. It is not
// comparable with ==.
type Digester struct {
	// pads returns the pepper's HMAC inner and outer key blocks, so a
	// digest is two SHA-256 sums over stack buffers and allocates nothing;
	// nil means plain SHA-256. The pepper itself is not kept. A closure,
	// because reflection can see that a function is there but not what it
	// captured; the pads are shared by copies and never written.
	pads func() *[2 * sha256.BlockSize]byte
}

// NewDigester returns a Digester that computes HMAC-SHA256(pepper, key), or
// plain SHA-256 if pepper is empty. The pepper is never exposed.
func NewDigester(pepper Value) Digester {
	if pepper.IsZero() {
		return Digester{}
	}
	key := []byte(pepper.Reveal())
	if len(key) > sha256.BlockSize { // RFC 2104: long keys are hashed first
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	pads := new([2 * sha256.BlockSize]byte)
	copy(pads[:], key)
	copy(pads[sha256.BlockSize:], key)
	for i := range sha256.BlockSize {
		pads[i] ^= 0x36
		pads[sha256.BlockSize+i] ^= 0x5c
	}
	return Digester{pads: func() *[2 * sha256.BlockSize]byte { return pads }}
}

// String returns "secrets.Digester(peppered)" for a Digester with a pepper
// and "secrets.Digester(sha256)" for one without.
func (d Digester) String() string {
	if d.pads == nil {
		return "secrets.Digester(sha256)"
	}
	return "secrets.Digester(peppered)"
}

// GoString returns the same as [Digester.String], what %#v prints.
func (d Digester) GoString() string { return d.String() }

// Format prints [Digester.String] for every verb, quoted for %q, so that no
// verb reaches the pads.
func (d Digester) Format(f fmt.State, verb rune) { format(f, verb, d.String(), d.String()) }

// LogValue returns [Digester.String] as a string.
func (d Digester) LogValue() slog.Value { return slog.StringValue(d.String()) }

// maxStackKey is the longest key digested without touching the heap.
const maxStackKey = 128

// Digest returns the digest of key, the full key string as presented.
func (d Digester) Digest(key string) Digest {
	if len(key) > maxStackKey {
		return d.digestLong(key)
	}
	if d.pads == nil {
		// Hashing a copy on the stack spares the heap copy that []byte(key)
		// makes of keys longer than 32 bytes.
		var buf [maxStackKey]byte
		return sha256.Sum256(buf[:copy(buf[:], key)])
	}
	pads := d.pads()
	var inner [sha256.BlockSize + maxStackKey]byte
	copy(inner[:], pads[:sha256.BlockSize])
	n := sha256.BlockSize + copy(inner[sha256.BlockSize:], key)
	sum := sha256.Sum256(inner[:n])
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], pads[sha256.BlockSize:])
	copy(outer[sha256.BlockSize:], sum[:])
	return sha256.Sum256(outer[:])
}

// digestLong digests keys too long for the stack buffers; rotor's own keys
// never are.
func (d Digester) digestLong(key string) Digest {
	if d.pads == nil {
		return sha256.Sum256([]byte(key))
	}
	// HMAC as in Digest, streamed: a hash.Hash never fails to write.
	pads := d.pads()
	h := sha256.New()
	h.Write(pads[:sha256.BlockSize])
	_, _ = io.WriteString(h, key)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	h.Reset()
	h.Write(pads[sha256.BlockSize:])
	h.Write(sum[:])
	var out Digest
	h.Sum(out[:0])
	return out
}

// DigestValue returns the digest of v. It equals d.Digest(v.Reveal()).
func (d Digester) DigestValue(v Value) Digest { return d.Digest(v.Reveal()) }
