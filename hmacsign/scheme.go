package hmacsign

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
)

// Scheme is a wire format for signatures: which headers carry a message,
// what content is signed, how entries are written, and how a secret becomes
// the HMAC key. The set is closed: [StandardWebhooks], [Stripe] and
// [GitHub]. All three are verified by the same rotation-aware code.
//
// A Scheme is safe for concurrent use. Each prints its name with fmt.
type Scheme interface {
	spec() *scheme
}

var (
	// StandardWebhooks is the Standard Webhooks v1 format, the default:
	// headers webhook-id, webhook-timestamp and webhook-signature, the
	// last holding space-separated "v1,<base64>" entries, each the
	// HMAC-SHA256 of id.timestamp.payload in standard, padded base64. The
	// key is the standard derivation: a whsec_ secret's decoded bytes.
	//
	// Svix sends the same format under other names: svix-id,
	// svix-timestamp and svix-signature. A verifier reads each header in
	// either spelling. Where both spellings of one header are present they
	// must be identical, else the message is refused with
	// [ErrMalformedHeader] ("webhook-id and svix-id differ"): no spelling
	// wins, so what a handler reads from either one is what was verified.
	// An empty header counts as absent. Refusals name the headers by their
	// webhook-* names. A signer writes webhook-* only.
	StandardWebhooks Scheme = standardWebhooksScheme

	// Stripe is Stripe's format: one header, Stripe-Signature, holding
	// "t=<timestamp>,v1=<hex>[,v1=<hex>…]", each v1 the HMAC-SHA256 of
	// timestamp.payload in lower-case hex. Several v1 entries appear while
	// a secret rolls; entries of other schemes (v0) are skipped. The key is
	// the raw derivation: the whole secret string. There is no message id
	// on the wire; [Message.ID] is left empty when reading.
	Stripe Scheme = stripeScheme

	// GitHub is GitHub's format: X-Hub-Signature-256 holding
	// "sha256=<hex>", the HMAC-SHA256 of the payload alone. The key is the
	// raw derivation. There is no timestamp, so a verifier checks no
	// tolerance; the message id, when present, is X-GitHub-Delivery. The
	// header holds one signature, so a [Signer] signs with the first
	// signing key only; a [Verifier] accepts several comma-separated
	// entries.
	GitHub Scheme = gitHubScheme
)

// The schemes themselves, kept out of the exported declarations.
var (
	standardWebhooksScheme = &scheme{
		name:        "standard-webhooks",
		kind:        kindStandard,
		deriv:       standard,
		sigHeader:   "Webhook-Signature",
		sigName:     "webhook-signature",
		idHeader:    "Webhook-Id",
		idName:      "webhook-id",
		tsHeader:    "Webhook-Timestamp",
		tsName:      "webhook-timestamp",
		svixSig:     "Svix-Signature",
		svixID:      "Svix-Id",
		svixTS:      "Svix-Timestamp",
		entrySep:    ' ',
		entryPrefix: "v1,",
	}

	stripeScheme = &scheme{
		name:        "stripe",
		kind:        kindStripe,
		deriv:       raw,
		sigHeader:   "Stripe-Signature",
		sigName:     "Stripe-Signature",
		tsName:      "Stripe-Signature timestamp (t=)",
		entrySep:    ',',
		entryPrefix: "v1=",
	}

	gitHubScheme = &scheme{
		name:        "github",
		kind:        kindGitHub,
		deriv:       raw,
		sigHeader:   "X-Hub-Signature-256",
		sigName:     "X-Hub-Signature-256",
		idHeader:    "X-Github-Delivery", // X-GitHub-Delivery, canonical
		idName:      "X-GitHub-Delivery",
		entrySep:    ',',
		entryPrefix: "sha256=",
	}
)

type schemeKind uint8

const (
	kindStandard schemeKind = iota
	kindStripe
	kindGitHub
)

type scheme struct {
	name  string
	kind  schemeKind
	deriv derivation
	// Header keys in canonical form, so that reading is a map lookup
	// without canonicalizing; names as the scheme spells them, for errors.
	sigHeader, sigName string
	idHeader, idName   string // none for Stripe
	tsHeader, tsName   string // none for Stripe (in the signature) and GitHub
	// Svix's spelling of Standard Webhooks' headers, read as well.
	svixSig, svixID, svixTS string
	// Signature entries: entryPrefix and a MAC (base64 for Standard
	// Webhooks, hex for the others), separated by entrySep.
	entrySep    byte
	entryPrefix string
}

func (s *scheme) spec() *scheme { return s }

// needID reports whether a message without an id is refused.
func (s *scheme) needID() bool { return s.kind == kindStandard }

// timestamped reports whether the timestamp is signed and checked.
func (s *scheme) timestamped() bool { return s.kind != kindGitHub }

// String returns the scheme's name: "standard-webhooks", "stripe" or
// "github".
func (s *scheme) String() string { return s.name }

func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// either returns the value of the header key or, if that is absent or
// empty, of alt, its other spelling. It reports false if both are present
// and differ.
func either(h http.Header, key, alt string) (string, bool) {
	v, w := header(h, key), header(h, alt)
	switch {
	case w == "":
		return v, true
	case v == "":
		return w, true
	}
	return v, v == w
}

// read returns the message that h and payload carry. Missing parts are
// left empty, for the verifier to refuse. The only error is a
// [*VerifyError] for a Standard Webhooks header whose two spellings
// differ.
func (s *scheme) read(h http.Header, payload []byte) (Message, error) {
	m := Message{Payload: payload}
	switch s.kind {
	case kindStandard:
		var ok bool
		if m.ID, ok = either(h, s.idHeader, s.svixID); !ok {
			return Message{}, refuse(ErrMalformedHeader, "webhook-id and svix-id differ")
		}
		if m.Timestamp, ok = either(h, s.tsHeader, s.svixTS); !ok {
			return Message{}, refuse(ErrMalformedHeader, "webhook-timestamp and svix-timestamp differ")
		}
		if m.Signature, ok = either(h, s.sigHeader, s.svixSig); !ok {
			return Message{}, refuse(ErrMalformedHeader, "webhook-signature and svix-signature differ")
		}
	case kindStripe:
		m.Signature = header(h, s.sigHeader)
		m.Timestamp = stripeTimestamp(m.Signature)
	case kindGitHub:
		m.Signature = header(h, s.sigHeader)
		m.ID = header(h, s.idHeader)
	}
	return m, nil
}

// stripeTimestamp returns the value of the first t= element of a
// Stripe-Signature header, or "".
func stripeTimestamp(sig string) string {
	for sig != "" {
		var e string
		e, sig, _ = strings.Cut(sig, ",")
		if v, ok := strings.CutPrefix(e, "t="); ok {
			return v
		}
	}
	return ""
}

// write sets the headers that carry m. For Standard Webhooks it removes
// Svix's spelling of them, which a verifier would find differing.
func (s *scheme) write(h http.Header, m Message) {
	switch s.kind {
	case kindStandard:
		h.Del(s.svixID)
		h.Del(s.svixTS)
		h.Del(s.svixSig)
		h.Set(s.idHeader, m.ID)
		h.Set(s.tsHeader, m.Timestamp)
	case kindGitHub:
		if m.ID != "" {
			h.Set(s.idHeader, m.ID)
		}
	}
	h.Set(s.sigHeader, m.Signature)
}

// Sizes of a MAC written in each encoding. Standard Webhooks uses padded
// base64, so exactly one string stands for each MAC.
const (
	macSize    = 32 // HMAC-SHA256
	base64Size = (macSize + 2) / 3 * 4
	hexSize    = 2 * macSize
)

// parseEntries decodes the usable entries of a signature header into e, at
// most maxEntries of them. Entries of unknown versions and entries that do
// not decode to a MAC are skipped.
func (s *scheme) parseEntries(sig string, e *entries) {
	e.n = 0
	for sig != "" && e.n < maxEntries {
		var entry string
		if i := strings.IndexByte(sig, s.entrySep); i >= 0 {
			entry, sig = sig[:i], sig[i+1:]
		} else {
			entry, sig = sig, ""
		}
		v, ok := strings.CutPrefix(entry, s.entryPrefix)
		if !ok {
			continue
		}
		if s.kind == kindStandard {
			ok = decodeBase64MAC(&e.mac[e.n], v)
		} else {
			ok = decodeHexMAC(&e.mac[e.n], v)
		}
		if ok {
			e.n++
		}
	}
}

// Decoding tables. hexValue is the value of each character, or invalid.
// base64Quantum holds, for each place in a 4-character quantum, each
// character's 6 bits shifted to that place in a 24-bit group; a character
// outside the alphabet sets bits 24 to 31 instead. One OR over a quantum
// then both assembles its 3 bytes and flags a bad character.
const invalid = 0xff

var hexValue = func() (h [256]byte) {
	for i := range h {
		h[i] = invalid
	}
	for i := range 10 {
		h['0'+i] = byte(i)
	}
	for i := range 6 {
		h['a'+i], h['A'+i] = byte(10+i), byte(10+i)
	}
	return h
}()

var base64Quantum = func() (q [4][256]uint32) {
	for place := range q {
		for c := range q[place] {
			q[place][c] = 0xff << 24
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for v := range len(alphabet) {
		for place := range q {
			q[place][alphabet[v]] = uint32(v) << (18 - 6*place)
		}
	}
	return q
}()

// decodeBase64MAC decodes s into dst and reports whether s is the
// canonical, padded, standard base64 of 32 bytes: 43 characters of the
// alphabet, the last with its two unused bits zero, and "=". It reads the
// string in place, which encoding/base64 cannot do without a copy, and
// stores each quantum's 3 bytes with one 4-byte store, whose fourth byte
// the next quantum overwrites.
func decodeBase64MAC(dst *[macSize]byte, s string) bool {
	if len(s) != base64Size || s[base64Size-1] != '=' {
		return false
	}
	t := &base64Quantum
	var bad uint32 // collects the bits that only bad characters set
	for q := range macSize / 3 {
		v := t[0][s[4*q]] | t[1][s[4*q+1]] | t[2][s[4*q+2]] | t[3][s[4*q+3]]
		bad |= v
		binary.BigEndian.PutUint32(dst[3*q:], v<<8)
	}
	const last = macSize / 3 * 4 // the quantum that holds the last 2 bytes
	v := t[0][s[last]] | t[1][s[last+1]] | t[2][s[last+2]]
	bad |= v
	binary.BigEndian.PutUint16(dst[macSize-2:], uint16(v>>8))
	// v's low byte holds the third character's two bits that no byte uses.
	return bad>>24 == 0 && v&0xff == 0
}

// decodeHexMAC decodes s into dst and reports whether s is 64 hex digits,
// in either case.
func decodeHexMAC(dst *[macSize]byte, s string) bool {
	if len(s) != hexSize {
		return false
	}
	var bad byte
	for i := range macSize {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0x0f
	}
	return bad&0xf0 == 0
}

// maxEntryLen is the longest a signature entry and its separator can be.
const maxEntryLen = 1 + len("sha256=") + hexSize

// writeEntry writes one signature entry for mac to b, with its separator
// unless it is the first. Stripe's first entry has one too: it follows
// "t=<timestamp>".
func (s *scheme) writeEntry(b *strings.Builder, mac *[macSize]byte, first bool) {
	if !first || s.kind == kindStripe {
		b.WriteByte(s.entrySep)
	}
	b.WriteString(s.entryPrefix)
	var enc [hexSize]byte
	if s.kind == kindStandard {
		base64.StdEncoding.Encode(enc[:], mac[:])
		b.Write(enc[:base64Size])
	} else {
		hex.Encode(enc[:], mac[:])
		b.Write(enc[:])
	}
}
