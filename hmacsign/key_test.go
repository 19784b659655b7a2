package hmacsign_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

func TestNewKeyRefuses(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		secret string
		want   error
		reason string
	}{
		{"empty id", "", secretA, hmacsign.ErrInvalidKey, "empty id"},
		{"empty secret", "k1", "", hmacsign.ErrWeakKey, "secret shorter than 16 bytes"},
		{"short secret", "k1", "fifteen-bytes!!", hmacsign.ErrWeakKey, "secret shorter than 16 bytes"},
		{"short webhook secret", "k1", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 15)), hmacsign.ErrWeakKey, "webhook secret decodes to fewer than 16 bytes"},
		{"short unpadded webhook secret", "k1", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 14)), hmacsign.ErrWeakKey, "webhook secret decodes to fewer than 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := hmacsign.NewKey(tt.id, secrets.NewValue(tt.secret), time.Time{})
			is.True(errors.Is(err, tt.want))                       // the refusal matches its sentinel
			is.True(errors.Is(err, hmacsign.ErrInvalidKey))        // and every refusal is an invalid key
			is.True(!errors.Is(err, hmacsign.ErrInvalidSignature)) // a key error is no signature error
			kerr, ok := errors.AsType[*hmacsign.KeyError](err)
			is.True(ok)                      // the refusal is a *KeyError
			is.Equal(kerr.Reason, tt.reason) // which says which check failed
			is.Equal(kerr.ID, tt.id)         // and names the key
			is.Equal(k, hmacsign.Key{})      // no key comes back
			assertNoLeak(t, err.Error(), tt.secret)
		})
	}
}

func TestNewKeyAccepts(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{"webhook secret", secretA},
		{"16-byte webhook secret", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"16-byte webhook secret, unpadded", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 16))},
		{"api key", secretC},
		{"16 bytes", "sixteen-bytes-ok"},
		{"whsec_ that is not base64 (raw only)", "whsec_test_secret"},
		{"long secret", strings.Repeat("x", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := hmacsign.NewKey("k1", secrets.NewValue(tt.secret), time.Time{})
			is.NoErr(err)                   // the secret is strong enough
			is.Equal(k.ID(), "k1")          // the key keeps its id
			is.True(k.ValidAt(t0))          // and without expiry it is valid
			is.True(k.ExpiresAt().IsZero()) // and says it never expires
		})
	}
}

// TestWebhookSecretPadding makes keys from whsec_ secrets with and
// without their base64 padding: the key made from an unpadded secret
// verifies what the padded one signs, and the reverse, in every scheme
// (Stripe and GitHub sign with the whole string, which differs, so there
// each verifies only its own).
func TestWebhookSecretPadding(t *testing.T) {
	tests := []struct {
		name   string
		padded string
	}{
		{"one =", secretB}, // 32 bytes
		{"two =", "whsec_" + base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))},
		{"none needed", secretA}, // 24 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			unpadded := strings.TrimRight(tt.padded, "=")
			withPad := newKey(t, "padded", tt.padded, time.Time{})
			without := newKey(t, "unpadded", unpadded, time.Time{})
			for _, pair := range [][2]hmacsign.Key{{withPad, without}, {without, withPad}} {
				m, err := hmacsign.NewSigner(hmacsign.StaticKeys{pair[0]}, nil).SignAt(ctx, "owner", "msg_1", []byte(payload), t0)
				is.NoErr(err) // either key signs Standard Webhooks messages
				v := newVerifier(t, hmacsign.StaticKeys{pair[1]}, &hmacsign.VerifierOptions{Now: fixed(t0)})
				id, err := v.Verify(ctx, "owner", m)
				is.NoErr(err)              // and the other verifies them
				is.Equal(id, pair[1].ID()) // as itself
			}
			key, err := refWebhookKey(tt.padded)
			is.NoErr(err)
			m := sign(t, hmacsign.StaticKeys{without}, nil, t0, "msg_1", payload)
			is.Equal(m.Signature, "v1,"+base64.StdEncoding.EncodeToString(refMAC(string(key), "msg_1", ".", fmt.Sprint(t0.Unix()), ".", payload))) // under the decoded bytes
			stripe := sign(t, hmacsign.StaticKeys{without}, hmacsign.Stripe, t0, "", payload)
			is.Equal(stripe.Signature, fmt.Sprintf("t=%d,v1=%s", t0.Unix(), hex.EncodeToString(refMAC(unpadded, fmt.Sprint(t0.Unix()), ".", payload)))) // Stripe still takes the string as given
		})
	}
}

// TestWebhookSecretNotBase64 makes keys from whsec_ secrets that are not
// canonical base64 in either form: each is a raw-only key, as Stripe's
// test secrets are, which Standard Webhooks cannot use and Stripe can.
func TestWebhookSecretNotBase64(t *testing.T) {
	sixteen := base64.StdEncoding.EncodeToString([]byte("sixteen byte key")) // 22 characters and "=="
	tests := []struct {
		name   string
		secret string
	}{
		{"underscore", "whsec_test_secret"},
		{"half the padding", "whsec_" + strings.TrimSuffix(sixteen, "=")},
		{"padding inside", "whsec_" + sixteen[:10] + "=" + sixteen[10:22]},
		{"unused bits set", "whsec_" + sixteen[:21] + "B"}, // "w" ends 16 bytes; "B" sets a bit past them
		{"one character too many", "whsec_" + sixteen[:22] + "AAA"},
		{"url-safe alphabet", "whsec_" + strings.Repeat("-_", 11)},
		{"line break", "whsec_" + sixteen[:11] + "\n" + sixteen[11:22]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := refWebhookKey(tt.secret)
			is.True(err != nil) // the case is not base64 by the reference either
			k := newKey(t, "k", tt.secret, time.Time{})
			_, err = hmacsign.NewSigner(hmacsign.StaticKeys{k}, nil).SignAt(t.Context(), "owner", "msg_1", []byte(payload), t0)
			is.True(errors.Is(err, hmacsign.ErrNoKeys)) // no standard key to sign with
			_, err = hmacsign.NewSigner(hmacsign.StaticKeys{k}, &hmacsign.SignerOptions{Scheme: hmacsign.Stripe}).SignAt(t.Context(), "owner", "", []byte(payload), t0)
			is.NoErr(err) // but a raw one
		})
	}
}

// TestNewWebhookKey makes keys from Standard Webhooks secrets with and
// without their prefix and padding, as the other Standard Webhooks
// libraries read them, and checks that NewKey never reads a string
// without the prefix that way.
func TestNewWebhookKey(t *testing.T) {
	bare := strings.TrimPrefix(secretB, "whsec_")
	tests := []struct {
		name   string
		secret string
	}{
		{"prefixed", secretB},
		{"bare", bare},
		{"bare, unpadded", strings.TrimSuffix(bare, "=")},
		{"prefixed, unpadded", strings.TrimSuffix(secretB, "=")},
	}
	key, err := refWebhookKey(secretB)
	if err != nil {
		t.Fatal(err)
	}
	want := "v1," + base64.StdEncoding.EncodeToString(refMAC(string(key), "msg_1", ".", fmt.Sprint(t0.Unix()), ".", payload))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := hmacsign.NewWebhookKey("k1", secrets.NewValue(tt.secret), t0.Add(time.Hour))
			is.NoErr(err)                              // the secret is read
			is.Equal(k.ID(), "k1")                     // the key keeps its id
			is.Equal(k.ExpiresAt(), t0.Add(time.Hour)) // and its expiry
			m := sign(t, hmacsign.StaticKeys{k}, nil, t0, "msg_1", payload)
			is.Equal(m.Signature, want) // and signs under the decoded bytes, as the prefixed, padded secret does
			for _, scheme := range []hmacsign.Scheme{hmacsign.Stripe, hmacsign.GitHub} {
				_, err := hmacsign.NewSigner(hmacsign.StaticKeys{k}, &hmacsign.SignerOptions{Scheme: scheme}).SignAt(t.Context(), "owner", "", []byte(payload), t0)
				is.True(errors.Is(err, hmacsign.ErrNoKeys)) // schemes that take the whole string skip it
			}
		})
	}

	// NewKey takes a string without the prefix for what it is: its bytes,
	// however much it looks like base64.
	is := is.New(t)
	k := newKey(t, "k1", bare, time.Time{})
	m := sign(t, hmacsign.StaticKeys{k}, nil, t0, "msg_1", payload)
	is.Equal(m.Signature, "v1,"+base64.StdEncoding.EncodeToString(refMAC(bare, "msg_1", ".", fmt.Sprint(t0.Unix()), ".", payload))) // NewKey never guesses
}

func TestNewWebhookKeyRefuses(t *testing.T) {
	apiKey, err := secrets.Format("sk_live").Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		id     string
		secret string
		want   error
		reason string
	}{
		{"empty id", "", secretB, hmacsign.ErrInvalidKey, "empty id"},
		{"empty secret", "k1", "", hmacsign.ErrWeakKey, "empty webhook secret"},
		{"prefix alone", "k1", "whsec_", hmacsign.ErrWeakKey, "empty webhook secret"},
		{"short", "k1", base64.StdEncoding.EncodeToString(make([]byte, 15)), hmacsign.ErrWeakKey, "webhook secret decodes to fewer than 16 bytes"},
		{"short, unpadded", "k1", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 14)), hmacsign.ErrWeakKey, "webhook secret decodes to fewer than 16 bytes"},
		{"stripe test secret", "k1", "whsec_test_secret", hmacsign.ErrInvalidKey, "webhook secret is not base64"},
		{"api key", "k1", apiKey.Reveal(), hmacsign.ErrInvalidKey, "webhook secret is not base64"},
		{"prefix twice", "k1", "whsec_" + secretB, hmacsign.ErrInvalidKey, "webhook secret is not base64"},
		{"url-safe alphabet", "k1", strings.Repeat("-_", 12), hmacsign.ErrInvalidKey, "webhook secret is not base64"},
		{"not canonical", "k1", strings.TrimSuffix(strings.TrimPrefix(secretB, "whsec_"), "A=") + "B=", hmacsign.ErrInvalidKey, "webhook secret is not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := hmacsign.NewWebhookKey(tt.id, secrets.NewValue(tt.secret), time.Time{})
			is.True(errors.Is(err, tt.want))                // the refusal matches its sentinel
			is.True(errors.Is(err, hmacsign.ErrInvalidKey)) // and every refusal is an invalid key
			kerr, ok := errors.AsType[*hmacsign.KeyError](err)
			is.True(ok)                      // the refusal is a *KeyError
			is.Equal(kerr.Reason, tt.reason) // which says which check failed
			is.Equal(kerr.ID, tt.id)         // and names the key
			is.Equal(k, hmacsign.Key{})      // no key comes back
			assertNoLeak(t, err.Error(), tt.secret)
		})
	}
}

func TestKeyValidAt(t *testing.T) {
	exp := t0.Add(time.Minute)
	k := newKey(t, "k1", secretA, exp)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"long before", t0.Add(-24 * time.Hour), true},
		{"just before expiry", exp.Add(-time.Nanosecond), true},
		{"at expiry", exp, false},
		{"after expiry", exp.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(k.ValidAt(tt.at), tt.want) // a key is valid strictly before its expiry
		})
	}
	is := is.New(t)
	is.Equal(k.ExpiresAt(), exp)                 // the expiry is kept
	is.True(!hmacsign.Key{}.ValidAt(t0))         // the zero Key is never valid
	is.Equal(hmacsign.Key{}.ID(), "")            // and has no id
	is.True(hmacsign.Key{}.ExpiresAt().IsZero()) // nor expiry
}

// assertNoLeak fails t if out holds any of the secrets, or the HMAC key
// derived from one (its base64, padded or not, decoded, with or without
// the whsec_ prefix), in any of the shapes secretstest looks for.
func assertNoLeak(t *testing.T, out string, secretStrings ...string) {
	t.Helper()
	all := secretStrings
	for _, s := range secretStrings {
		if key, err := refWebhookKey(s); err == nil {
			all = append(all, string(key))
		}
	}
	secretstest.NoLeak(t, out, all...)
}

// refWebhookKey decodes a Standard Webhooks secret the plain way: an
// optional whsec_ prefix, then canonical standard base64, padded or not,
// without line breaks.
func refWebhookKey(secret string) ([]byte, error) {
	rest := strings.TrimPrefix(secret, "whsec_")
	if strings.ContainsAny(rest, "\r\n") {
		return nil, errors.New("line break")
	}
	if len(rest)%4 == 0 {
		return base64.StdEncoding.Strict().DecodeString(rest)
	}
	return base64.RawStdEncoding.Strict().DecodeString(rest)
}

type holder struct {
	Name string
	Key  hmacsign.Key
}

type hidden struct {
	key hmacsign.Key
}

func TestKeyRedactsInFmt(t *testing.T) {
	k := newKey(t, "key_1", secretB, t0)
	subjects := []struct {
		name string
		x    any
	}{
		{"Key", k},
		{"*Key", &k},
		{"struct", holder{Name: "a", Key: k}},
		{"unexported field", hidden{key: k}},
		{"StaticKeys", hmacsign.StaticKeys{k, k}},
		{"map", map[string]hmacsign.Key{"a": k}},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%p", "%T", "%20s"}
	for _, sub := range subjects {
		t.Run(sub.name, func(t *testing.T) {
			for _, verb := range verbs {
				assertNoLeak(t, fmt.Sprintf(verb, sub.x), secretB)
			}
			assertNoLeak(t, fmt.Sprint(sub.x), secretB)
			assertNoLeak(t, fmt.Errorf("wrapped: %v", sub.x).Error(), secretB)
		})
	}
	is := is.New(t)
	is.Equal(fmt.Sprint(k), `hmacsign.Key("key_1", [REDACTED])`)         // fmt shows the id and the redaction
	is.Equal(fmt.Sprintf("%#v", k), `hmacsign.Key("key_1", [REDACTED])`) // so does %#v
}

func TestKeyRedactsInSlog(t *testing.T) {
	k := newKey(t, "key_1", secretB, t0)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("loaded", "key", k)
	log.Info("loaded", "keys", hmacsign.StaticKeys{k})
	log.Info("loaded", slog.Any("ptr", &k))
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("loaded", "key", k, "holder", holder{Key: k})

	is := is.New(t)
	assertNoLeak(t, buf.String(), secretB)
	assertNoLeak(t, text.String(), secretB)
	is.True(strings.Contains(buf.String(), `"key":{"id":"key_1"`))    // the JSON log names the key by id
	is.True(strings.Contains(text.String(), "key.secret=[REDACTED]")) // and the text log shows the redaction
}

func TestKeyDoesNotEncode(t *testing.T) {
	k := newKey(t, "key_1", secretB, t0)
	tests := []struct {
		name string
		x    any
	}{
		{"Key", k},
		{"*Key", &k},
		{"struct", holder{Name: "a", Key: k}},
		{"StaticKeys", hmacsign.StaticKeys{k}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			out, err := json.Marshal(tt.x)
			is.True(errors.Is(err, secrets.ErrNotEncodable)) // a key never lands in JSON
			assertNoLeak(t, string(out)+err.Error(), secretB)
		})
	}
	is := is.New(t)
	_, err := k.MarshalText()
	is.True(errors.Is(err, secrets.ErrNotEncodable)) // nor in text
}

func TestStaticKeys(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	keys := hmacsign.StaticKeys{newKey(t, "a", secretA, time.Time{}), newKey(t, "b", secretB, time.Time{})}
	sign, err := keys.SigningKeys(ctx, "anyone")
	is.NoErr(err) // a static source never fails
	verify, err := keys.VerifyingKeys(ctx, "someone else")
	is.NoErr(err) // for any owner
	ids := func(ks []hmacsign.Key) (out []string) {
		for _, k := range ks {
			out = append(out, k.ID())
		}
		return out
	}
	if diff := cmp.Diff([]string{"a", "b"}, ids(sign)); diff != "" {
		t.Errorf("SigningKeys mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b"}, ids(verify)); diff != "" {
		t.Errorf("VerifyingKeys mismatch (-want +got):\n%s", diff)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = keys.VerifyingKeys(ctx, "owner")
	})
	is.Equal(allocs, 0.0) // handing out the keys allocates nothing
}
