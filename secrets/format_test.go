package secrets_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
)

// The helpers below re-derive the key format independently of the package:
// math/big for base62 and hash/crc32 for the checksum.

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode62 writes n in base62, left-padded with '0' to width.
func encode62(n *big.Int, width int) string {
	s := n.Text(62) // big's base62 digits are 0-9a-zA-Z
	var b strings.Builder
	b.WriteString(strings.Repeat("0", width-len(s)))
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z':
			c += 'A' - 'a'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// decode62 parses base62 digits.
func decode62(s string) *big.Int {
	n := new(big.Int)
	for i := range len(s) {
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(strings.IndexByte(base62Alphabet, s[i]))))
	}
	return n
}

// makeKey assembles a key with a correct checksum around body.
func makeKey(prefix, env, body string) string {
	k := prefix + "_" + env + "_" + body
	return k + encode62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(k)))), 6)
}

// maxBody62 is 2²⁵⁶-1 in 43 base62 digits.
var maxBody62 = encode62(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), 43)

// sampleKey is a well-formed key, made up for these tests.
var sampleKey = makeKey("rtr", "test", "3xKq9Lm2Vb7Nc4Rt8Yw1Pd6Sh0Jg5Fa2Uo9Ik3Mn7Bv")

func TestFormatValidate(t *testing.T) {
	tests := []struct {
		name  string
		f     secrets.Format
		field string // "" when valid
	}{
		{"sk_live", "sk_live", ""},
		{"pk_test", "pk_test", ""},
		{"digits", "k8s_2024", ""},
		{"longest", "abcdefghijklmnop_0123456789abcdef", ""},
		{"webhook", secrets.Webhook, ""},
		{"zero", "", "prefix"},
		{"no env", "sk", "env"},
		{"no prefix", "_live", "prefix"},
		{"prefix too long", "abcdefghijklmnopq_live", "prefix"},
		{"env too long", "sk_0123456789abcdefg", "env"},
		{"prefix starts with digit", "1sk_live", "prefix"},
		{"upper case prefix", "SK_live", "prefix"},
		{"upper case env", "sk_Live", "env"},
		{"two underscores", "s_k_live", "env"}, // the first one ends the prefix
		{"underscore in env", "sk_li_ve", "env"},
		{"trailing underscore", "sk_live_", "env"},
		{"whsec and underscore", "whsec_", "prefix"},
		{"dash in env", "sk_li-ve", "env"},
		{"non-ASCII", "sk_lïve", "env"},
		{"whsec with env", "whsec_live", "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := tt.f.Validate()
			if tt.field == "" {
				is.NoErr(err) // the format is valid
				return
			}
			is.True(errors.Is(err, secrets.ErrInvalidFormat)) // an invalid format matches the sentinel
			var fe *secrets.FormatError
			is.True(errors.As(err, &fe)) // and comes as a *FormatError
			is.Equal(fe.Field, tt.field) // that names the bad field
			is.True(fe.Reason != "")     // and says why
			_, gerr := tt.f.Generate()
			is.True(errors.Is(gerr, secrets.ErrInvalidFormat)) // Generate refuses an invalid format
		})
	}
}

func TestFormatString(t *testing.T) {
	tests := []struct {
		name string
		f    secrets.Format
		want string
	}{
		{"key", "sk_live", "sk_live"},
		{"webhook", secrets.Webhook, "whsec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(tt.f.String(), tt.want) // String gives prefix and env
		})
	}
}

func TestFormatParts(t *testing.T) {
	tests := []struct {
		f           secrets.Format
		prefix, env string
	}{
		{"sk_live", "sk", "live"},
		{"pk_test", "pk", "test"},
		{secrets.Webhook, "whsec", ""},
		{"", "", ""},
		{"sk", "sk", ""},
		{"a_b_c", "a", "b_c"},
	}
	for _, tt := range tests {
		t.Run(tt.f.String(), func(t *testing.T) {
			is := is.New(t)
			is.Equal(tt.f.Prefix(), tt.prefix) // Prefix is what comes before the first underscore
			is.Equal(tt.f.Env(), tt.env)       // and Env what comes after it
		})
	}
}

func TestWebhookIsConstant(t *testing.T) {
	is := is.New(t)
	const webhook = secrets.Webhook            // compiles only if nobody can reassign it
	is.Equal(webhook, secrets.Format("whsec")) // Webhook is "whsec"
	is.NoErr(webhook.Validate())               // and valid
}

func TestFormatIsWebhook(t *testing.T) {
	is := is.New(t)
	is.True(secrets.Webhook.IsWebhook())               // Webhook is the webhook format
	is.True(secrets.Format("whsec").IsWebhook())       // by value
	is.True(!secrets.Format("sk_live").IsWebhook())    // key formats are not
	is.True(!secrets.Format("whsec_live").IsWebhook()) // nor is whsec with an env
	is.True(!secrets.Format("").IsWebhook())           // nor the zero Format
}

func TestGenerateKeys(t *testing.T) {
	is := is.New(t)
	f := secrets.Format("sk_live")
	limit := new(big.Int).Lsh(big.NewInt(1), 256)
	seen := make(map[string]bool)
	for range 1000 {
		v, err := f.Generate()
		is.NoErr(err) // a valid format generates
		key := v.Reveal()
		is.Equal(len(key), len("sk_live_")+49)      // every key has the same length
		is.True(strings.HasPrefix(key, "sk_live_")) // and starts with its format
		is.True(!seen[key])                         // and is new
		seen[key] = true

		got, err := secrets.ParseKey(key)
		is.NoErr(err)    // every generated key parses
		is.Equal(got, f) // as its own format

		body := key[len("sk_live_") : len(key)-6]
		n := decode62(body)
		is.True(n.Cmp(limit) < 0)                  // the body is a 256-bit number
		is.Equal(encode62(n, 43), body)            // written in fixed-width base62
		is.Equal(makeKey("sk", "live", body), key) // and the checksum is base62 CRC-32 of the rest
	}
}

func TestGenerateIsFromCryptoRand(t *testing.T) {
	is := is.New(t)
	cryptotest.SetGlobalRandom(t, 42)
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	cryptotest.SetGlobalRandom(t, 42) // replay the same stream into Generate

	v, err := secrets.Format("pk_test").Generate()
	is.NoErr(err) // a valid format generates
	want := makeKey("pk", "test", encode62(new(big.Int).SetBytes(raw[:]), 43))
	is.Equal(v.Reveal(), want) // the body is the next 32 bytes of crypto/rand, big-endian
}

func TestGenerateWebhook(t *testing.T) {
	is := is.New(t)
	seen := make(map[string]bool)
	for range 100 {
		v, err := secrets.Webhook.Generate()
		is.NoErr(err) // Webhook generates
		s := v.Reveal()
		rest, ok := strings.CutPrefix(s, "whsec_")
		is.True(ok) // a webhook secret starts with whsec_
		raw, err := base64.StdEncoding.DecodeString(rest)
		is.NoErr(err)          // then standard base64
		is.Equal(len(raw), 32) // of 32 bytes
		is.True(!seen[s])      // and is new
		seen[s] = true
		_, err = secrets.ParseKey(s)
		is.True(errors.Is(err, secrets.ErrMalformedKey)) // a webhook secret is not a key
	}
}

func TestGenerateWebhookSecretSize(t *testing.T) {
	tests := []struct {
		size int
		ok   bool
	}{
		{-1, false}, {0, false}, {23, false}, {24, true}, {32, true}, {64, true}, {65, false}, {1 << 20, false},
	}
	for _, tt := range tests {
		t.Run(big.NewInt(int64(tt.size)).String(), func(t *testing.T) {
			is := is.New(t)
			v, err := secrets.GenerateWebhookSecret(tt.size)
			if !tt.ok {
				is.True(errors.Is(err, secrets.ErrInvalidFormat)) // sizes outside 24..64 are refused
				var fe *secrets.FormatError
				is.True(errors.As(err, &fe)) // with a *FormatError
				is.Equal(fe.Field, "size")   // naming the size
				is.True(v.IsZero())          // and no value
				return
			}
			is.NoErr(err) // sizes inside 24..64 work
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v.Reveal(), "whsec_"))
			is.NoErr(err)               // the secret is base64
			is.Equal(len(raw), tt.size) // of the size asked for
		})
	}
}

func TestParseKeyAccepts(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want secrets.Format
	}{
		{"sample", sampleKey, "rtr_test"},
		{"zero body", makeKey("sk", "live", strings.Repeat("0", 43)), "sk_live"},
		{"largest body", makeKey("sk", "live", maxBody62), "sk_live"},
		{"longest format", makeKey("abcdefghijklmnop", "0123456789abcdef", maxBody62),
			"abcdefghijklmnop_0123456789abcdef"},
		{"shortest format", makeKey("a", "1", maxBody62), "a_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.ParseKey(tt.key)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKey mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyRejects(t *testing.T) {
	webhook, err := secrets.Webhook.Generate()
	if err != nil {
		t.Fatal(err)
	}
	body := sampleKey[len("rtr_test_") : len(sampleKey)-6]
	tests := []struct {
		name   string
		key    string
		reason string
	}{
		{"empty", "", "empty"},
		{"webhook secret", webhook.Reveal(), "webhook secret, not a key"},
		{"random words", "correct horse battery staple", "no prefix"},
		{"random token", "3xKq9Lm2Vb7Nc4Rt8Yw1Pd6Sh0Jg5Fa2Uo9Ik3Mn7Bv", "no prefix"},
		{"too long", sampleKey + strings.Repeat("x", 100), "wrong length"},
		{"one char more", sampleKey + "0", "wrong length"},
		{"one char less", sampleKey[:len(sampleKey)-1], "wrong length"},
		{"checksum missing", sampleKey[:len(sampleKey)-6], "wrong length"},
		{"only format", "rtr_test_", "wrong length"},
		{"no env", "rtr_" + body + "000000", "no environment"},
		{"empty prefix", "_test_" + body + "000000", "bad prefix"},
		{"upper case prefix", makeKey("RTR", "test", body), "bad prefix"},
		{"prefix starts with digit", makeKey("9rtr", "test", body), "bad prefix"},
		{"prefix too long", makeKey("abcdefghijklmnopq", "test", body), "bad prefix"},
		{"empty env", makeKey("rtr", "", body), "bad environment"},
		{"upper case env", makeKey("rtr", "TEST", body), "bad environment"},
		{"dash", makeKey("rtr", "test", body[:42]+"-"), "bad character"},
		{"base64 plus", makeKey("rtr", "test", "+"+body[1:]), "bad character"},
		{"space", makeKey("rtr", "test", body[:20]+" "+body[21:]), "bad character"},
		{"non-ASCII", makeKey("rtr", "test", body[:41]+"é"), "bad character"},
		{"body over 2^256", makeKey("rtr", "test", strings.Repeat("z", 43)), "body out of range"},
		{"body just over 2^256", makeKey("rtr", "test", encode62(new(big.Int).Lsh(big.NewInt(1), 256), 43)), "body out of range"},
		{"bad checksum", sampleKey[:len(sampleKey)-6] + "000000", "bad checksum"},
		{"swapped body chars", "rtr_test_" + body[1:2] + body[0:1] + body[2:] + sampleKey[len(sampleKey)-6:], "bad checksum"},
		{"other env", "rtr_live_" + sampleKey[len("rtr_test_"):], "bad checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f, err := secrets.ParseKey(tt.key)
			is.True(errors.Is(err, secrets.ErrMalformedKey)) // the key is refused
			var ke *secrets.KeyError
			is.True(errors.As(err, &ke))    // with a *KeyError
			is.Equal(ke.Reason, tt.reason)  // that says which check failed
			is.Equal(f, secrets.Format("")) // and no format
			assertNoKeyPart(t, err.Error(), tt.key)
		})
	}
}

// assertNoKeyPart fails t if msg holds any run of 5 characters of key.
func assertNoKeyPart(t *testing.T, msg, key string) {
	t.Helper()
	for i := 0; i+5 <= len(key); i++ {
		if part := key[i : i+5]; strings.Contains(msg, part) {
			t.Fatalf("error %q quotes part of the key (%q)", msg, part)
		}
	}
}

func TestParseKeyCatchesEverySubstitution(t *testing.T) {
	formats := []secrets.Format{"sk_live", "a_1"}
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			v, err := f.Generate()
			if err != nil {
				t.Fatal(err)
			}
			key := []byte(v.Reveal())
			for i := range key {
				orig := key[i]
				for c := range 256 {
					if byte(c) == orig {
						continue
					}
					key[i] = byte(c)
					if _, err := secrets.ParseKey(string(key)); err == nil {
						t.Fatalf("ParseKey accepted a key with byte %d changed to %#x", i, c)
					}
				}
				key[i] = orig
			}
		})
	}
}

func TestParseKeyCatchesEveryDeletionAndInsertion(t *testing.T) {
	is := is.New(t)
	for i := range len(sampleKey) {
		_, err := secrets.ParseKey(sampleKey[:i] + sampleKey[i+1:])
		is.True(err != nil) // deleting any one character breaks the key
		for _, c := range []byte(base62Alphabet + "_") {
			_, err := secrets.ParseKey(sampleKey[:i] + string(c) + sampleKey[i:])
			is.True(err != nil) // inserting any one character breaks the key
		}
	}
	for n := range len(sampleKey) {
		_, err := secrets.ParseKey(sampleKey[:n])
		is.True(err != nil) // every truncation is refused
	}
}

func TestParseKeyDoesNotAllocate(t *testing.T) {
	is := is.New(t)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := secrets.ParseKey(sampleKey); err != nil {
			t.Fatal(err)
		}
	})
	is.Equal(allocs, 0.0) // ParseKey allocates nothing on success
}

func mustHex(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHMACKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"webhook secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", mustHex(t, "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0")},
		{"key", sampleKey, sampleKey},
		{"any string", "hunter2", "hunter2"},
		{"whsec without underscore", "whsecMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsecMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := secrets.HMACKey(secrets.NewValue(tt.in))
			is.NoErr(err)                                 // the value has an HMAC key
			is.True(got.Equal(secrets.NewValue(tt.want))) // the one its format defines
		})
	}
}

func TestHMACKeyRejects(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "empty"},
		{"empty webhook secret", "whsec_", "empty webhook secret"},
		{"not base64", "whsec_not*valid!", "webhook secret is not standard base64"},
		{"url alphabet", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-", "webhook secret is not standard base64"},
		{"missing padding", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA", "webhook secret is not standard base64"},
		{"line break", "whsec_MfKQ9r8GKYqrTwjUPD8I\nLPZIo2LaLaSw", "webhook secret is not standard base64"},
		{"trailing newline", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "webhook secret is not standard base64"},
		{"non-canonical padding bits", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAB==", "webhook secret is not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := secrets.HMACKey(secrets.NewValue(tt.in))
			is.True(errors.Is(err, secrets.ErrMalformedKey)) // the value has no HMAC key
			var ke *secrets.KeyError
			is.True(errors.As(err, &ke))   // it says so with a *KeyError
			is.Equal(ke.Reason, tt.reason) // and why
			is.True(got.IsZero())          // and gives no key
			if len(tt.in) > 8 {
				assertNoKeyPart(t, err.Error(), tt.in[6:])
			}
		})
	}
}

// TestHMACKeyStandardWebhooksVector checks the published Standard Webhooks
// vector: the key HMACKey derives signs the message as every Standard
// Webhooks library does.
func TestHMACKeyStandardWebhooksVector(t *testing.T) {
	is := is.New(t)
	key, err := secrets.HMACKey(secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	is.NoErr(err) // the published secret decodes
	mac := hmac.New(sha256.New, []byte(key.Reveal()))
	mac.Write([]byte("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}"))
	got := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	is.Equal(got, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") // the published signature
}

func FuzzParseKey(f *testing.F) {
	f.Add(sampleKey)
	f.Add(makeKey("sk", "live", maxBody62))
	f.Add(makeKey("a", "1", strings.Repeat("0", 43)))
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("")
	f.Add("sk_live_")
	f.Add("__")
	f.Fuzz(func(t *testing.T, key string) {
		got, err := secrets.ParseKey(key)
		if err != nil {
			if !errors.Is(err, secrets.ErrMalformedKey) {
				t.Fatalf("error %v does not match ErrMalformedKey", err)
			}
			if len(key) >= 5 {
				assertNoKeyPart(t, err.Error(), key)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("ParseKey returned invalid format %v: %v", got, err)
		}
		if got.Prefix()+"_"+got.Env() != got.String() {
			t.Fatalf("ParseKey returned format %v that Prefix and Env do not split", got)
		}
		head := got.String() + "_"
		if !strings.HasPrefix(key, head) || len(key) != len(head)+49 {
			t.Fatalf("ParseKey returned format %v that does not start a %d-byte key", got, len(key))
		}
		body := key[len(head) : len(key)-6]
		if encode62(decode62(body), 43) != body || decode62(body).BitLen() > 256 {
			t.Fatal("ParseKey accepted a body that is not 256 bits in base62")
		}
		if makeKey(got.Prefix(), got.Env(), body) != key {
			t.Fatal("ParseKey accepted a key whose checksum does not re-encode to itself")
		}
	})
}

func FuzzHMACKey(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add(sampleKey)
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Add("whsec_00\r00") // a line break the base64 decoder would skip
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := secrets.HMACKey(secrets.NewValue(s))
		if err != nil {
			if !errors.Is(err, secrets.ErrMalformedKey) {
				t.Fatalf("error %v does not match ErrMalformedKey", err)
			}
			if !got.IsZero() {
				t.Fatal("HMACKey returned a key with an error")
			}
			return
		}
		if got.IsZero() {
			t.Fatal("HMACKey returned an empty key")
		}
		rest, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			if got.Reveal() != s {
				t.Fatal("HMACKey of a non-webhook value is not the value itself")
			}
			return
		}
		if base64.StdEncoding.EncodeToString([]byte(got.Reveal())) != rest {
			t.Fatal("HMACKey of a webhook secret does not re-encode to the secret")
		}
	})
}

func BenchmarkParseKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := secrets.ParseKey(sampleKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseKeyRejects(b *testing.B) {
	bad := sampleKey[:len(sampleKey)-6] + "000000"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := secrets.ParseKey(bad); err == nil {
			b.Fatal("accepted a bad checksum")
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	f := secrets.Format("sk_live")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}
