package hmacsign

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignerOptions configures a [Signer]. The zero value, like a nil pointer,
// means defaults.
type SignerOptions struct {
	// Scheme is the wire format. Nil means [StandardWebhooks].
	Scheme Scheme
	// Now is the signer's clock: it stamps the messages of [Signer.Sign]
	// and decides which keys are valid. Nil means time.Now.
	// [Signer.SignAt] takes its instant as an argument instead.
	Now func() time.Time
}

// Signer signs an owner's outgoing messages with every key the owner signs
// with at that instant, the designated key first: while a rotated secret is
// in its grace window, each message carries a signature from the new secret
// and one from the old, so receivers that have not switched yet keep
// verifying.
//
// A Signer is safe for concurrent use. Its zero value is not usable; use
// [NewSigner].
type Signer struct {
	keys   KeySource
	scheme *scheme
	now    func() time.Time
}

// NewSigner returns a Signer that gets keys from keys. opts may be nil.
// None of its options can be out of range, so unlike [NewVerifier] it
// returns no error. It panics if keys is nil, a programmer error.
func NewSigner(keys KeySource, opts *SignerOptions) *Signer {
	if keys == nil {
		panic("hmacsign: NewSigner with a nil KeySource")
	}
	s := &Signer{keys: keys, scheme: standardWebhooksScheme, now: time.Now}
	if opts != nil && opts.Scheme != nil {
		s.scheme = opts.Scheme.spec()
	}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	return s
}

// Scheme returns the signer's wire format.
func (s *Signer) Scheme() Scheme { return s.scheme }

// Sign signs payload as message id of owner, stamped now by the signer's
// clock: it is [Signer.SignAt] at that instant, with its rules for ids,
// keys and errors.
func (s *Signer) Sign(ctx context.Context, owner, id string, payload []byte) (Message, error) {
	return s.SignAt(ctx, owner, id, payload, s.now())
}

// SignAt signs payload as message id of owner, as if at the instant at:
// the timestamp is at in whole Unix seconds (the fraction dropped), and
// only keys valid at at sign. The signer's clock is not read. It is for
// fixtures (a message of a known age, to test a receiver with) and for
// delivery code that keeps its own time, such as a queue that stamps each
// attempt with the instant it scheduled it for. Receivers still refuse a
// timestamp outside their tolerance, so a retry is signed for the instant
// it is sent, under the id of the message it repeats.
//
// An empty id gets a [NewMessageID]; any other must be printable ASCII
// without spaces, else SignAt fails with [ErrInvalidMessageID]. For a
// scheme with a timestamp, at must not be before the Unix epoch (the zero
// time.Time is), which no timestamp header can carry, else SignAt fails
// with [ErrInvalidTimestamp].
//
// The signature holds one entry per key of [KeySource.SigningKeys] that is
// valid at at and usable by the scheme, in the source's order ([GitHub]
// takes the first only). The source gives the keys it signs with now, so
// a key that it no longer gives, such as one whose grace window has
// ended, does not sign for an earlier instant either. With no such key,
// SignAt fails with an error matching [ErrNoKeys]: it never returns an
// unsigned message. An error from the source is returned wrapped.
//
// The returned Message shares payload; put it on a request with
// [Signer.SetHeaders].
func (s *Signer) SignAt(ctx context.Context, owner, id string, payload []byte, at time.Time) (Message, error) {
	if id == "" {
		id = NewMessageID()
	} else if !validMessageID(id) {
		return Message{}, fmt.Errorf("%w: %q", ErrInvalidMessageID, id)
	}
	sch := s.scheme
	m := Message{ID: id, Payload: payload}
	if sch.timestamped() {
		sec := at.Unix()
		if sec < 0 {
			return Message{}, fmt.Errorf("%w: %s is before the Unix epoch", ErrInvalidTimestamp, at.UTC().Format(time.RFC3339))
		}
		m.Timestamp = strconv.FormatInt(sec, 10)
	}
	keys, err := s.keys.SigningKeys(ctx, owner)
	if err != nil {
		return Message{}, fmt.Errorf("hmacsign: signing keys of owner %q: %w", owner, err)
	}

	maxKeys := len(keys)
	if sch.kind == kindGitHub {
		maxKeys = min(maxKeys, 1)
	}
	var b strings.Builder
	b.Grow(len("t=") + len(m.Timestamp) + maxKeys*maxEntryLen) // one allocation
	if sch.kind == kindStripe {
		b.WriteString("t=")
		b.WriteString(m.Timestamp)
	}
	var sum [macSize]byte
	n := 0
	for _, k := range keys {
		mk := k.macAt(sch.deriv, at)
		if mk == nil {
			continue
		}
		mk.sum(&sum, sch, &m)
		sch.writeEntry(&b, &sum, n == 0)
		n++
		if sch.kind == kindGitHub {
			break // its header holds one signature
		}
	}
	if n == 0 {
		return Message{}, fmt.Errorf("hmacsign: signing for owner %q with %s: %w", owner, sch.name, ErrNoKeys)
	}
	m.Signature = b.String()
	return m, nil
}

// SetHeaders sets on h the headers that carry m in the signer's scheme,
// replacing any already there and leaving the others alone. It is the one
// way to put a message on a request: pass req.Header, or a new
// http.Header to build one.
//
// For [StandardWebhooks] it writes webhook-id, webhook-timestamp and
// webhook-signature, and removes svix-id, svix-timestamp and
// svix-signature: the same headers in Svix's spelling, left from an
// earlier signature, would differ from the new ones, and a verifier
// refuses that.
func (s *Signer) SetHeaders(h http.Header, m Message) { s.scheme.write(h, m) }
