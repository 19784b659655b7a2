package hmacsign_test

import (
	"bytes"
	"encoding/base64"
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
// derived from one, in any of the shapes secretstest looks for.
func assertNoLeak(t *testing.T, out string, secretStrings ...string) {
	t.Helper()
	all := secretStrings
	for _, s := range secretStrings {
		if raw, err := secrets.HMACKey(secrets.NewValue(s)); err == nil {
			all = append(all, raw.Reveal())
		}
	}
	secretstest.NoLeak(t, out, all...)
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
