package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"hash/crc32"
	"strings"
)

// Format is the shape of the keys a product hands out, named by what comes
// before a key's body: "<prefix>_<env>", such as "sk_live" or "pk_test". A
// key of format sk_live reads sk_live_<body><checksum>. The body is 32
// random bytes written as 43 base62 characters (0-9A-Za-z); the checksum is
// the CRC-32 (IEEE) of everything before it, written as 6 base62
// characters, so [ParseKey] can turn away typos and garbage without a
// lookup.
//
// The prefix names the kind of key: 1 to 16 characters of a-z and 0-9,
// starting with a letter. The env names the environment, such as live or
// test: 1 to 16 characters of a-z and 0-9. The first underscore separates
// them. [Webhook], "whsec", is the one other shape: Standard Webhooks
// signing secrets, whsec_<base64>, whose prefix no other Format may use.
//
// The zero Format "" is invalid, as [Format.Validate] says; APIs that take
// a Format may read it as "use the default". A Format is a string, so
// formats can be constants, compare with ==, and print and encode as their
// text; it is safe for concurrent use.
type Format string

// Webhook is the Format of Standard Webhooks signing secrets:
// "whsec_" followed by standard, padded base64 of random bytes.
const Webhook Format = webhookPrefix

const (
	webhookPrefix = "whsec"
	maxPartLen    = 16 // of a prefix and of an env

	bodyBytes = 32               // random bytes in a key
	bodyLen   = 43               // base62 characters that hold 256 bits
	sumLen    = 6                // base62 characters that hold 32 bits
	tailLen   = bodyLen + sumLen // what follows the second underscore
	maxKeyLen = 2*maxPartLen + 2 + tailLen
)

// Sizes of Standard Webhooks secrets, in random bytes.
const (
	// WebhookSecretSize is the size of the secrets [Webhook].Generate makes.
	WebhookSecretSize = 32
	// MinWebhookSecretSize is the smallest size [GenerateWebhookSecret]
	// accepts.
	MinWebhookSecretSize = 24
	// MaxWebhookSecretSize is the largest size [GenerateWebhookSecret]
	// accepts.
	MaxWebhookSecretSize = 64
)

// base62 is in ASCII order, so fixed-width numbers compare as strings.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// maxBody is the body that encodes 2²⁵⁶-1: no generated key has a larger
// one, and 43 base62 characters can hold slightly more.
var maxBody = func() string {
	var ones [bodyBytes]byte
	for i := range ones {
		ones[i] = 0xff
	}
	var b [bodyLen]byte
	encodeBody(&b, ones)
	return string(b[:])
}()

// Validate returns a [*FormatError] that names the part at fault, "prefix"
// or "env", if f cannot make keys, and nil if it can.
func (f Format) Validate() error {
	if f.IsWebhook() {
		return nil
	}
	prefix, env, _ := strings.Cut(string(f), "_")
	if reason := checkPrefix(prefix); reason != "" {
		return &FormatError{Field: "prefix", Reason: reason}
	}
	if prefix == webhookPrefix {
		return &FormatError{Field: "prefix", Reason: `"whsec" is reserved for Webhook, which has no env`}
	}
	if reason := checkEnv(env); reason != "" {
		return &FormatError{Field: "env", Reason: reason}
	}
	return nil
}

// Prefix returns the part of f before its first underscore: "sk" for
// "sk_live", "whsec" for [Webhook].
func (f Format) Prefix() string {
	prefix, _, _ := strings.Cut(string(f), "_")
	return prefix
}

// Env returns the part of f after its first underscore: "live" for
// "sk_live", "" for [Webhook].
func (f Format) Env() string {
	_, env, _ := strings.Cut(string(f), "_")
	return env
}

// checkPrefix returns why p is not a valid prefix, or "".
func checkPrefix(p string) string {
	if len(p) == 0 || len(p) > maxPartLen {
		return "must be 1 to 16 characters"
	}
	if p[0] < 'a' || p[0] > 'z' {
		return "must start with a lower-case letter"
	}
	return checkChars(p)
}

// checkEnv returns why e is not a valid environment, or "".
func checkEnv(e string) string {
	if len(e) == 0 || len(e) > maxPartLen {
		return "must be 1 to 16 characters"
	}
	return checkChars(e)
}

func checkChars(s string) string {
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "must hold only a-z and 0-9"
		}
	}
	return ""
}

// IsWebhook reports whether f is [Webhook].
func (f Format) IsWebhook() bool { return f == Webhook }

// String returns f as text: "sk_live", or "whsec" for [Webhook].
func (f Format) String() string { return string(f) }

// Generate returns a new key of format f, made from 32 bytes of crypto/rand.
// For [Webhook] it returns GenerateWebhookSecret(WebhookSecretSize). If f is
// not valid it returns the [*FormatError] from [Format.Validate].
func (f Format) Generate() (Value, error) {
	if err := f.Validate(); err != nil {
		return Value{}, err
	}
	if f.IsWebhook() {
		return GenerateWebhookSecret(WebhookSecretSize)
	}
	var raw [bodyBytes]byte
	_, _ = rand.Read(raw[:]) // never fails: it crashes the program instead
	var body [bodyLen]byte
	encodeBody(&body, raw)

	var b strings.Builder
	b.Grow(len(f) + 1 + tailLen)
	b.WriteString(string(f))
	b.WriteByte('_')
	b.Write(body[:])
	var sum [sumLen]byte
	encodeSum(&sum, checksum(b.String()))
	b.Write(sum[:])
	return NewValue(b.String()), nil
}

// GenerateWebhookSecret returns a new Standard Webhooks signing secret:
// "whsec_" and the standard, padded base64 of size bytes of crypto/rand.
// size must be from [MinWebhookSecretSize] to [MaxWebhookSecretSize], else it
// returns a [*FormatError].
func GenerateWebhookSecret(size int) (Value, error) {
	if size < MinWebhookSecretSize || size > MaxWebhookSecretSize {
		return Value{}, &FormatError{Field: "size", Reason: "must be 24 to 64 bytes"}
	}
	raw := make([]byte, size)
	_, _ = rand.Read(raw) // never fails: it crashes the program instead
	return NewValue(webhookPrefix + "_" + base64.StdEncoding.EncodeToString(raw)), nil
}

// ParseKey checks offline that key has the shape and checksum of a key some
// valid [Format] generates, and returns that format. It does not say that the
// key was ever issued: look its [Digest] up for that.
//
// A key with a typo, cut short, with characters added, or a Standard
// Webhooks secret fails with a [*KeyError], whose reason never quotes the
// key.
//
// ParseKey allocates nothing when the key is well formed: the Format it
// returns is a substring of key and keeps all of key in memory while it
// lives, so [strings.Clone] it before keeping it for long.
func ParseKey(key string) (Format, error) {
	if key == "" {
		return "", &KeyError{Reason: "empty"}
	}
	if strings.HasPrefix(key, webhookPrefix+"_") {
		return "", &KeyError{Reason: "webhook secret, not a key"}
	}
	if len(key) > maxKeyLen {
		return "", &KeyError{Reason: "wrong length"}
	}
	prefix, rest, ok := strings.Cut(key, "_")
	if !ok {
		return "", &KeyError{Reason: "no prefix"}
	}
	if checkPrefix(prefix) != "" {
		return "", &KeyError{Reason: "bad prefix"}
	}
	env, tail, ok := strings.Cut(rest, "_")
	if !ok {
		return "", &KeyError{Reason: "no environment"}
	}
	if checkEnv(env) != "" {
		return "", &KeyError{Reason: "bad environment"}
	}
	if len(tail) != tailLen {
		return "", &KeyError{Reason: "wrong length"}
	}
	for i := range len(tail) {
		if !isBase62(tail[i]) {
			return "", &KeyError{Reason: "bad character"}
		}
	}
	if tail[:bodyLen] > maxBody {
		return "", &KeyError{Reason: "body out of range"}
	}
	var want [sumLen]byte
	encodeSum(&want, checksum(key[:len(key)-sumLen]))
	var diff byte
	for i := range sumLen {
		diff |= tail[bodyLen+i] ^ want[i]
	}
	if diff != 0 {
		return "", &KeyError{Reason: "bad checksum"}
	}
	return Format(key[:len(prefix)+1+len(env)]), nil
}

// HMACKey returns the HMAC key that v's format defines. For a Standard
// Webhooks secret ("whsec_…") it is the base64-decoded bytes after the
// prefix, as Standard Webhooks does; for any other key it is the whole key,
// as Stripe and GitHub do. An empty v, or a whsec_ secret that is not
// canonical, padded, standard base64 of at least one byte, fails with a
// [*KeyError].
func HMACKey(v Value) (Value, error) {
	s := v.Reveal()
	if s == "" {
		return Value{}, &KeyError{Reason: "empty"}
	}
	rest, ok := strings.CutPrefix(s, webhookPrefix+"_")
	if !ok {
		return v, nil
	}
	// Strict, and no line breaks (which the decoder would skip), so that
	// exactly one string stands for each key.
	raw, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || strings.ContainsAny(rest, "\r\n") {
		// err says only where decoding failed; drop it all the same.
		return Value{}, &KeyError{Reason: "webhook secret is not standard base64"}
	}
	if len(raw) == 0 {
		return Value{}, &KeyError{Reason: "empty webhook secret"}
	}
	return NewValue(string(raw)), nil
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// encodeBody writes n, a big-endian number, as fixed-width base62.
func encodeBody(dst *[bodyLen]byte, n [bodyBytes]byte) {
	for i := len(dst) - 1; i >= 0; i-- {
		// Long division of n by 62, in place; r ends as n mod 62.
		var r uint
		for j := range n {
			c := r<<8 | uint(n[j])
			n[j] = byte(c / 62)
			r = c % 62
		}
		dst[i] = base62[r]
	}
}

// encodeSum writes c as fixed-width base62.
func encodeSum(dst *[sumLen]byte, c uint32) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[c%62]
		c /= 62
	}
}

// checksum returns the CRC-32 (IEEE) of s. It walks the string itself
// because crc32.ChecksumIEEE would need s copied to a heap []byte, and
// ParseKey is on the authentication path.
func checksum(s string) uint32 {
	crc := ^uint32(0)
	for i := range len(s) {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}
