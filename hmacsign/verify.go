package hmacsign

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// DefaultTolerance is how far a message's timestamp may be from the
// verifier's clock, either way, when [VerifierOptions].Tolerance is zero.
// It is what Standard Webhooks recommends.
const DefaultTolerance = 5 * time.Minute

// VerifierOptions configures a [Verifier]. The zero value, like a nil
// pointer, means defaults.
type VerifierOptions struct {
	// Scheme is the wire format. Nil means [StandardWebhooks].
	Scheme Scheme
	// Tolerance is how far a timestamp may be from now, in the past or
	// the future; a message exactly at the tolerance is accepted. Zero
	// means [DefaultTolerance]; a negative one is refused by [NewVerifier].
	// [GitHub] messages carry no timestamp and are not checked.
	Tolerance time.Duration
	// Now is the verifier's clock. Nil means time.Now.
	Now func() time.Time
	// Replay, if not nil, refuses a second message with the same id from
	// the same owner within the tolerance. Nil means no replay protection.
	Replay ReplayGuard
}

// Verifier checks signed messages against the keys that are valid for their
// owner at the instant of checking. It accepts a message when any entry of a
// known version matches any such key, so that during a grace window
// messages signed with the old secret, the new one, or both verify.
//
// A Verifier is safe for concurrent use. It takes no lock of its own and,
// once warm, allocates nothing to accept a message. Its zero value is not usable; use
// [NewVerifier].
type Verifier struct {
	keys      KeySource
	scheme    *scheme
	tolerance time.Duration
	now       func() time.Time
	replay    ReplayGuard

	// Errors whose detail depends on the options, worded once.
	tooOld, tooNew, noEntry string
}

// NewVerifier returns a Verifier that gets keys from keys. opts may be nil;
// it is copied, so changing it later changes nothing.
//
// An option out of range is refused with an [*OptionError] that names it:
// a negative Tolerance, or a Replay that is a nil or zero
// [*MemoryReplayGuard], which would otherwise fail on the first message
// that verifies. NewVerifier panics if keys is nil, a programmer error.
func NewVerifier(keys KeySource, opts *VerifierOptions) (*Verifier, error) {
	if keys == nil {
		panic("hmacsign: NewVerifier with a nil KeySource")
	}
	var o VerifierOptions
	if opts != nil {
		o = *opts
	}
	if o.Tolerance < 0 {
		return nil, &OptionError{Field: "Tolerance", Reason: "must not be negative"}
	}
	// A nil or zero guard would panic on the first message that verifies;
	// its now is never nil once made, and never changes.
	if g, ok := o.Replay.(*MemoryReplayGuard); ok && (g == nil || g.now == nil) {
		return nil, &OptionError{Field: "Replay", Reason: "must be made with NewMemoryReplayGuard"}
	}
	v := &Verifier{keys: keys, scheme: standardWebhooksScheme, tolerance: DefaultTolerance, now: time.Now, replay: o.Replay}
	if o.Scheme != nil {
		v.scheme = o.Scheme.spec()
	}
	if o.Tolerance != 0 {
		v.tolerance = o.Tolerance
	}
	if o.Now != nil {
		v.now = o.Now
	}
	tol := v.tolerance.String()
	v.tooOld = v.scheme.tsName + " is more than " + tol + " in the past"
	v.tooNew = v.scheme.tsName + " is more than " + tol + " in the future"
	v.noEntry = v.scheme.sigName + " holds no usable entry of a known version"
	return v, nil
}

// Scheme returns the verifier's wire format.
func (v *Verifier) Scheme() Scheme { return v.scheme }

// VerifyRequest reads a message from h and payload with the verifier's
// scheme and verifies it as [Verifier.Verify] does. h is looked up by
// canonical keys ("Webhook-Signature"), as net/http and [http.Header.Set]
// store them; only the first value of each header counts.
//
// For [StandardWebhooks], each header may come in Svix's spelling instead
// (svix-id, svix-timestamp, svix-signature); a message that carries both
// spellings of a header with different values is refused with
// [ErrMalformedHeader], before any key is asked for.
func (v *Verifier) VerifyRequest(ctx context.Context, owner string, h http.Header, payload []byte) (keyID string, err error) {
	keyID, _, err = v.verifyRequest(ctx, owner, h, payload)
	return keyID, err
}

// verifyRequest is VerifyRequest that also returns the message id it read.
func (v *Verifier) verifyRequest(ctx context.Context, owner string, h http.Header, payload []byte) (keyID, msgID string, err error) {
	m, err := v.scheme.read(h, payload)
	if err != nil {
		return "", "", err
	}
	keyID, err = v.verify(ctx, owner, &m)
	return keyID, m.ID, err
}

// Verify checks m for owner and returns the id of the key that signed it.
//
// It checks, in order: that the headers the scheme needs are present, that
// the timestamp is a decimal integer within the tolerance of now, that the
// signature holds an entry of a known version ("v1" for Standard Webhooks
// and Stripe, "sha256" for GitHub; others are skipped) that decodes to a
// MAC, and that one of those entries matches the MAC of one of the owner's
// [KeySource.VerifyingKeys] that is valid now; then, if there is a
// [ReplayGuard], that the id was not seen before. The key that matched most
// recently is tried first. MACs are compared in constant time. At most
// eight usable entries count; a sender signs with a few keys at most.
//
// A refusal is a [*VerifyError] matching [ErrInvalidSignature] and the
// sentinel of the failed check. An owner with no valid keys is refused with
// [ErrNoKeys]: nothing to check never means accept. An error from the
// [KeySource] or the [ReplayGuard] is returned wrapped, so that
// errors.Is(err, context.Canceled) holds when it does for the source; it
// does not match ErrInvalidSignature.
func (v *Verifier) Verify(ctx context.Context, owner string, m Message) (keyID string, err error) {
	return v.verify(ctx, owner, &m)
}

func refuse(err error, detail string) error { return &VerifyError{Err: err, Detail: detail} }

func (v *Verifier) verify(ctx context.Context, owner string, m *Message) (string, error) {
	s := v.scheme
	if s.needID() && m.ID == "" {
		return "", refuse(ErrMissingHeader, s.idName+" is missing")
	}
	if m.Signature == "" {
		return "", refuse(ErrMissingHeader, s.sigName+" is missing")
	}
	now := v.now()
	var sec int64
	if s.timestamped() {
		if m.Timestamp == "" {
			if s.tsHeader == "" {
				return "", refuse(ErrMalformedHeader, s.sigName+" holds no timestamp")
			}
			return "", refuse(ErrMissingHeader, s.tsName+" is missing")
		}
		var ok bool
		if sec, ok = parseUnix(m.Timestamp); !ok {
			return "", refuse(ErrMalformedHeader, s.tsName+" is not a decimal integer")
		}
		switch skew(sec, now, v.tolerance) {
		case -1:
			return "", refuse(ErrTimestampTooOld, v.tooOld)
		case +1:
			return "", refuse(ErrTimestampTooNew, v.tooNew)
		}
	}

	var e entries
	s.parseEntries(m.Signature, &e)
	if e.n == 0 {
		return "", refuse(ErrMalformedHeader, v.noEntry)
	}

	keys, err := v.keys.VerifyingKeys(ctx, owner)
	if err != nil {
		return "", fmt.Errorf("hmacsign: keys of owner %q: %w", owner, err)
	}
	// Try first the usable key that matched most recently; then the others
	// in the source's order.
	best, bestMAC, bestHit := preferred(keys, s.deriv, now)
	if best < 0 {
		return "", refuse(ErrNoKeys, "the owner has no valid key for "+s.name)
	}
	match := -1
	if e.matches(bestMAC, s, m) {
		match = best
	} else {
		for i, k := range keys {
			mk := k.macAt(s.deriv, now)
			if i == best || mk == nil {
				continue
			}
			if e.matches(mk, s, m) {
				match = i
				// Ahead of every other candidate, so the next verify
				// tries this key first. Stored only on a miss, so the
				// steady state writes nothing shared.
				k.s.hit.Store(bestHit + 1)
				break
			}
		}
	}
	if match < 0 {
		return "", refuse(ErrNoMatch, s.sigName+" matches no valid key")
	}
	if v.replay != nil {
		id := m.ID
		if id == "" {
			// Stripe carries no id and GitHub may not: the MAC that
			// matched stands for the message, which it covers.
			var b [len("mac:") + hexSize]byte
			copy(b[:], "mac:")
			hex.Encode(b[len("mac:"):], e.sum[:])
			id = string(b[:])
		}
		until := now.Add(v.tolerance)
		if s.timestamped() {
			until = time.Unix(sec, 0).Add(v.tolerance)
		}
		seen, err := v.replay.Seen(ctx, owner, id, until)
		if err != nil {
			return "", fmt.Errorf("hmacsign: replay guard for owner %q: %w", owner, err)
		}
		if seen {
			return "", refuse(ErrReplayed, "the message was already accepted")
		}
	}
	return keys[match].s.id, nil
}

// preferred returns the index of the key to try first among those that may
// verify at now under d: the one stamped by the latest match after a miss,
// or the first if none is stamped above it. It also returns that key's MAC
// key and stamp. With no usable key, the index is -1.
func preferred(keys []Key, d derivation, now time.Time) (best int, mk *macKey, hit uint64) {
	best = -1
	for i, k := range keys {
		m := k.macAt(d, now)
		if m == nil {
			continue
		}
		if h := k.s.hit.Load(); best < 0 || h > hit {
			best, mk, hit = i, m, h
		}
	}
	return best, mk, hit
}

// matches reports whether the MAC of m under mk equals any decoded entry.
// It leaves the MAC in e.sum.
func (e *entries) matches(mk *macKey, s *scheme, m *Message) bool {
	mk.sum(&e.sum, s, m)
	ok := false
	for i := range e.n {
		// Every entry is compared, so the time taken does not depend on
		// which one matched.
		if equalMAC(&e.sum, &e.mac[i]) {
			ok = true
		}
	}
	return ok
}

// equalMAC reports whether a and b are equal, in time that does not
// depend on their contents: it XORs them 8 bytes at a time and ORs the
// results together, without a branch. That is hmac.Equal's method a word
// at a time instead of a byte at a time; this runs once per entry and
// key on every verify, where the byte loop cost more than the rest of
// the comparison did.
func equalMAC(a, b *[macSize]byte) bool {
	var d uint64
	for i := 0; i < macSize; i += 8 {
		d |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return subtle.ConstantTimeEq(int32(uint32(d)|uint32(d>>32)), 0) == 1
}

// skew compares the timestamp sec, in Unix seconds, with now: it returns -1
// if sec is more than tol before now, +1 if more than tol after, and 0 if
// within tol either way, bounds included. It is exact to the nanosecond,
// cannot overflow, and is cheaper than time.Time arithmetic on the hot path.
func skew(sec int64, now time.Time, tol time.Duration) int {
	nowS, nowNs := now.Unix(), uint64(now.Nanosecond())
	tolS, tolNs := uint64(tol/time.Second), uint64(tol%time.Second)
	if sec <= nowS {
		// now - sec = d seconds + nowNs nanoseconds, nowNs < 1e9.
		d := uint64(nowS) - uint64(sec)
		if d > tolS || d == tolS && nowNs > tolNs {
			return -1
		}
		return 0
	}
	// sec - now = d seconds - nowNs nanoseconds: normalized, fs seconds
	// and fNs nanoseconds with fNs < 1e9.
	fs, fNs := uint64(sec)-uint64(nowS), uint64(0)
	if nowNs > 0 {
		fs, fNs = fs-1, uint64(time.Second)-nowNs
	}
	if fs > tolS || fs == tolS && fNs > tolNs {
		return +1
	}
	return 0
}
