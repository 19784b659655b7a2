package hmacsign

import (
	"crypto/rand"
	"math"
)

// Message is a signed message as it travels: what a [Signer] produces and a
// [Verifier] checks. Its fields are strings exactly as sent, since the
// signature covers those bytes and not a parsed form.
//
// The zero Message is unsigned and never verifies. A Message is a plain
// value; Payload is shared, not copied.
type Message struct {
	// ID identifies the message: webhook-id (or svix-id) for
	// [StandardWebhooks], X-GitHub-Delivery for [GitHub]. [Stripe] carries
	// none on the wire.
	ID string
	// Timestamp is the time of signing in decimal Unix seconds, as sent.
	// [GitHub] has none.
	Timestamp string
	// Signature is the raw signature header: for [StandardWebhooks]
	// "v1,<base64> v1,<base64>…", for [Stripe] "t=<ts>,v1=<hex>…", for
	// [GitHub] "sha256=<hex>".
	Signature string
	// Payload is the body, byte for byte.
	Payload []byte
}

// NewMessageID returns a new message id: "msg_" and 26 random characters
// (130 bits from crypto/rand).
func NewMessageID() string { return "msg_" + rand.Text() }

// validMessageID reports whether id can travel in a header unchanged:
// printable ASCII without spaces.
func validMessageID(id string) bool {
	for i := range len(id) {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// parseUnix parses decimal Unix seconds: digits only, no sign, no overflow.
// Leading zeros are allowed, as strconv.ParseInt allows them.
func parseUnix(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if len(s) > maxDigits {
		return 0, false
	}
	var n uint64 // holds any maxDigits digits without overflow
	for i := range len(s) {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// maxDigits is the number of decimal digits of math.MaxInt64.
const maxDigits = 19

// maxEntries is how many usable signature entries one message may carry;
// later ones are ignored. A sender signs with one key per secret in use, a
// handful at most.
const maxEntries = 8

// entries holds the decoded MACs of a signature header. It lives on the
// verifier's stack: decoded once per verify, compared with each key's MAC.
type entries struct {
	mac [maxEntries][macSize]byte
	n   int           // in use
	sum [macSize]byte // the last MAC computed
}

// writeContent feeds the content that s signs for m into p's hash. The id
// and timestamp go through p.buf so that no string is converted to bytes
// and the signed content is never built.
func (p *pooledMAC) writeContent(s *scheme, m *Message) {
	n := 0
	switch s.kind {
	case kindGitHub:
	case kindStandard:
		if len(m.ID)+len(m.Timestamp)+2 <= len(p.buf) {
			// As below, without the checks for a full buffer.
			n = copy(p.buf[:], m.ID)
			p.buf[n] = '.'
			n += 1 + copy(p.buf[n+1:], m.Timestamp)
			p.buf[n] = '.'
			n++
			break
		}
		n = p.add(n, m.ID)
		n = p.add(n, ".")
		n = p.add(n, m.Timestamp)
		n = p.add(n, ".")
	default: // Stripe
		n = p.add(n, m.Timestamp)
		n = p.add(n, ".")
	}
	if n > 0 {
		p.h.Write(p.buf[:n])
	}
	p.h.Write(m.Payload)
}

// add copies str into p.buf after its first n bytes, flushing to the hash
// when the buffer fills, and returns the bytes now buffered.
func (p *pooledMAC) add(n int, str string) int {
	for str != "" {
		if n == len(p.buf) {
			p.h.Write(p.buf[:])
			n = 0
		}
		k := copy(p.buf[n:], str)
		n += k
		str = str[k:]
	}
	return n
}
