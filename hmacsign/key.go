package hmacsign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// MinKeySize is the length, in bytes, under which [NewKey] and
// [NewWebhookKey] refuse a derived HMAC key with [ErrWeakKey].
const MinKeySize = 16

// derivation names one of the two ways a secret becomes an HMAC key.
type derivation uint8

const (
	// standard is the key Standard Webhooks takes: the base64-decoded
	// bytes after a whsec_ prefix, the bytes of any other string (see
	// [NewKey] and [NewWebhookKey]).
	standard derivation = iota
	// raw is the bytes of the whole secret string. Stripe and GitHub.
	raw
	numDerivations
)

// Key is one secret prepared for signing and verifying: an id, an expiry,
// and the secret's HMAC-SHA256 keys under the derivations that apply (see
// [NewKey] and [NewWebhookKey]), with their keyed states computed once.
//
// A Key holds key material, so it never shows it: fmt prints its id and
// [secrets.Redacted], log/slog logs a group of its id, its expiry and
// secret=[secrets.Redacted], and encoding it as JSON or text fails with
// [secrets.ErrNotEncodable].
//
// The zero Key is not valid at any instant and is skipped wherever it
// appears. Use [NewKey] or [NewWebhookKey]. A Key is immutable and safe
// for concurrent use; copy it freely: copies share their prepared state.
type Key struct {
	// s is a pointer so that copies share state, and so that fmt, which
	// walks unexported fields without calling methods when a Key sits in
	// some other struct, prints an address and not the key.
	s *keyState
}

type keyState struct {
	id        string
	expiresAt time.Time
	// macs holds one prepared MAC key per derivation; nil where the
	// derivation does not apply (a whsec_ secret that is not base64 has no
	// standard key; a key from NewWebhookKey has no raw one). Both point
	// at the same macKey when the bytes agree.
	macs [numDerivations]*macKey
	// hit orders keys for verification: the key that matched after
	// another one was tried first gets a stamp above every other
	// candidate's, so the next verify tries it first.
	hit atomic.Uint64
}

// macKey is an HMAC-SHA256 key with a pool of keyed hashes. Each pooled
// hash has absorbed its inner and outer pads and saved that state, so Reset
// restores it without hashing the key again. A hash is used by one
// goroutine at a time, between Get and Put.
type macKey struct {
	pool sync.Pool // of *pooledMAC
}

// pooledMAC is a keyed hash and the buffers that feed it and take its sum,
// which must be on the heap since they pass through the hash.Hash
// interface.
type pooledMAC struct {
	h   hash.Hash
	buf [256]byte // the signed content's prefix on its way into h
	sum [macSize]byte
}

func newMACKey(key []byte) *macKey {
	m := &macKey{}
	m.pool.New = func() any {
		h := hmac.New(sha256.New, key)
		// The first Reset saves the keyed inner and outer states, which
		// later Resets and Sums restore instead of hashing the pads again.
		h.Reset()
		return &pooledMAC{h: h}
	}
	return m
}

// sum sets *dst to the MAC of the content that s signs for m.
func (mk *macKey) sum(dst *[macSize]byte, s *scheme, m *Message) {
	p := mk.pool.Get().(*pooledMAC)
	p.h.Reset()
	p.writeContent(s, m)
	p.h.Sum(p.sum[:0])
	*dst = p.sum
	mk.pool.Put(p)
}

// NewKey prepares secret, identified by id, for signing and verifying until
// expiresAt (the zero time: never).
//
// It derives the secret's two HMAC keys once, each from what the secret's
// text says it is, never from a guess. The standard key, which
// [StandardWebhooks] uses, is for a whsec_ secret the bytes that the rest
// decodes to as standard base64, padded or not, as Standard Webhooks does;
// for any other string, such as sk_live_…, its bytes. The raw key, which
// [Stripe] and [GitHub] use, is the bytes of the whole secret string, as
// those services do. A whsec_ secret whose rest is not base64 (Stripe's
// test secrets look like that) has only the raw key, so schemes that need
// the standard key skip it. A Standard Webhooks secret given without its
// whsec_ prefix is read as one only by [NewWebhookKey].
//
// An empty id fails with a [*KeyError] matching [ErrInvalidKey]; an empty
// secret, or a derived key shorter than [MinKeySize] bytes, with one
// matching [ErrWeakKey]. Neither holds any part of the secret.
func NewKey(id string, secret secrets.Value, expiresAt time.Time) (Key, error) {
	if id == "" {
		return Key{}, &KeyError{ID: id, Reason: "empty id", Err: ErrInvalidKey}
	}
	s := secret.Reveal()
	if len(s) < MinKeySize {
		return Key{}, &KeyError{ID: id, Reason: "secret shorter than 16 bytes", Err: ErrWeakKey}
	}
	st := &keyState{id: id, expiresAt: expiresAt}
	st.macs[raw] = newMACKey([]byte(s))
	rest, ok := strings.CutPrefix(s, webhookPrefix)
	if !ok {
		st.macs[standard] = st.macs[raw] // not a whsec_ secret: the whole string either way
		return Key{s: st}, nil
	}
	std, err := decodeWebhookSecret(rest)
	switch {
	case err != nil:
		// Not base64 after the prefix: a raw-only key, as Stripe's look.
	case len(std) < MinKeySize:
		return Key{}, &KeyError{ID: id, Reason: "webhook secret decodes to fewer than 16 bytes", Err: ErrWeakKey}
	default:
		st.macs[standard] = newMACKey(std)
	}
	return Key{s: st}, nil
}

// NewWebhookKey prepares secret, a Standard Webhooks signing secret
// identified by id, for signing and verifying until expiresAt (the zero
// time: never). It reads secret as the Standard Webhooks libraries do: an
// optional whsec_ prefix, then the standard base64, padded or not, of the
// HMAC key. Use it where the secret is known to be a Standard Webhooks
// one but may lack its prefix, as when a sender's dashboard shows only the
// base64; [NewKey] would take such a string's own bytes as the key, as it
// must for keys such as sk_live_….
//
// The key has the standard derivation only: [StandardWebhooks] signs and
// verifies with it, and [Stripe] and [GitHub], which take the bytes of
// the whole string, skip it.
//
// An empty id fails with a [*KeyError] matching [ErrInvalidKey], and so
// does a secret that is not base64 after the optional prefix; an empty
// one, or one that decodes to fewer than [MinKeySize] bytes, with one
// matching [ErrWeakKey]. Neither holds any part of the secret.
func NewWebhookKey(id string, secret secrets.Value, expiresAt time.Time) (Key, error) {
	if id == "" {
		return Key{}, &KeyError{ID: id, Reason: "empty id", Err: ErrInvalidKey}
	}
	rest := strings.TrimPrefix(secret.Reveal(), webhookPrefix)
	if rest == "" {
		return Key{}, &KeyError{ID: id, Reason: "empty webhook secret", Err: ErrWeakKey}
	}
	std, err := decodeWebhookSecret(rest)
	if err != nil {
		return Key{}, &KeyError{ID: id, Reason: "webhook secret is not base64", Err: ErrInvalidKey}
	}
	if len(std) < MinKeySize {
		return Key{}, &KeyError{ID: id, Reason: "webhook secret decodes to fewer than 16 bytes", Err: ErrWeakKey}
	}
	st := &keyState{id: id, expiresAt: expiresAt}
	st.macs[standard] = newMACKey(std)
	return Key{s: st}, nil
}

// webhookPrefix starts a Standard Webhooks secret: "whsec_".
const webhookPrefix = string(secrets.Webhook) + "_"

// decodeWebhookSecret returns the bytes that rest, the text of a Standard
// Webhooks secret after its prefix, stands for: rest decoded as
// canonical, standard base64, padded or not. It completes the padding that
// a secret written without it lacks and leaves the decoding to
// [secrets.HMACKey], the one rule for whsec_ secrets. Partial padding is
// not completed. The error says nothing of rest.
func decodeWebhookSecret(rest string) ([]byte, error) {
	if n := len(rest) % 4; (n == 2 || n == 3) && !strings.Contains(rest, "=") {
		rest += "=="[:4-n]
	}
	v, err := secrets.HMACKey(secrets.NewValue(webhookPrefix + rest))
	if err != nil {
		return nil, err
	}
	return []byte(v.Reveal()), nil
}

// ID returns the key's id, or "" for the zero Key.
func (k Key) ID() string {
	if k.s == nil {
		return ""
	}
	return k.s.id
}

// ExpiresAt returns the instant from which the key is no longer valid, or
// the zero time if it never expires.
func (k Key) ExpiresAt() time.Time {
	if k.s == nil {
		return time.Time{}
	}
	return k.s.expiresAt
}

// ValidAt reports whether the key may sign and verify at t: it has no
// expiry, or t is before it. The zero Key is never valid.
func (k Key) ValidAt(t time.Time) bool {
	return k.s != nil && (k.s.expiresAt.IsZero() || t.Before(k.s.expiresAt))
}

// macAt returns the key's prepared MAC key under d if the key may sign and
// verify at t, or nil.
func (k Key) macAt(d derivation, t time.Time) *macKey {
	if !k.ValidAt(t) {
		return nil
	}
	return k.s.macs[d]
}

// String returns "hmacsign.Key(<id>, [REDACTED])".
func (k Key) String() string {
	return "hmacsign.Key(" + strconv.Quote(k.ID()) + ", " + secrets.Redacted + ")"
}

// GoString returns the same as [Key.String], what %#v prints.
func (k Key) GoString() string { return k.String() }

// Format prints [Key.String] for every verb, so no verb ever prints key
// bytes.
func (k Key) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, k.String())
}

// LogValue returns a group holding the key's id and expiry, never the key.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", k.ID()),
		slog.Time("expires_at", k.ExpiresAt()),
		slog.String("secret", secrets.Redacted),
	)
}

// MarshalJSON fails with [secrets.ErrNotEncodable]: a Key never lands in a
// payload. Encode its [Key.ID] instead.
func (k Key) MarshalJSON() ([]byte, error) { return nil, secrets.ErrNotEncodable }

// MarshalText fails with [secrets.ErrNotEncodable].
func (k Key) MarshalText() ([]byte, error) { return nil, secrets.ErrNotEncodable }

// KeySource gives the keys of an owner. [rotation.Rotator] implements it, and
// so does [StaticKeys].
//
// The slices a source returns are read-only: callers must not modify them,
// and a source may hand the same slice to many calls and goroutines. Sources
// are expected to return cached slices so that verifying allocates nothing.
// A source should return only keys valid now; callers still skip keys that
// are not valid at their own instant.
//
// Implementations must be safe for concurrent use.
//
// [rotation.Rotator]: https://pkg.go.dev/github.com/rotorkit/rotor/rotation#Rotator
type KeySource interface {
	// SigningKeys returns the keys to sign the owner's messages with now:
	// the designated key first, then its predecessors still in their grace
	// window.
	SigningKeys(ctx context.Context, owner string) ([]Key, error)
	// VerifyingKeys returns every key valid for the owner now.
	VerifyingKeys(ctx context.Context, owner string) ([]Key, error)
}

// StaticKeys is a [KeySource] for those who keep their own secrets: every
// owner signs with all its keys, in order, and verifies with all of them.
// Keys that have expired are skipped by the [Signer] and [Verifier].
//
// The zero StaticKeys has no keys, so it signs and verifies nothing. A
// StaticKeys is safe for concurrent use as long as no one modifies it.
type StaticKeys []Key

// SigningKeys returns s itself, whatever the owner; do not modify it.
func (s StaticKeys) SigningKeys(context.Context, string) ([]Key, error) { return s, nil }

// VerifyingKeys returns s itself, whatever the owner; do not modify it.
func (s StaticKeys) VerifyingKeys(context.Context, string) ([]Key, error) { return s, nil }
