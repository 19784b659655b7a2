package scanning_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/scanning"
)

func TestParseKeys(t *testing.T) {
	is := is.New(t)
	a, b := newSigner(t, "key-a"), newSigner(t, "key-b")
	keys, err := scanning.ParseKeys(keyList(t, a, b))
	is.NoErr(err)
	is.Equal(keys.Len(), 2)
	pub, err := keys.PublicKey(t.Context(), "key-b")
	is.NoErr(err)
	is.True(pub.Equal(&b.priv.PublicKey)) // the key under its identifier, current or not
	_, err = keys.PublicKey(t.Context(), "key-c")
	is.True(errors.Is(err, scanning.ErrUnknownKey))
}

func TestParseKeysRefuses(t *testing.T) {
	a := newSigner(t, "key-a")
	good := string(keyList(t, a))
	pemKey := good[strings.Index(good, `"key":"`)+7 : strings.Index(good, `","is_current"`)]
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	otherCurve, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	for name, data := range map[string]string{
		"not JSON":       "public_keys",
		"no keys":        `{"public_keys": []}`,
		"empty id":       `{"public_keys": [{"key_identifier": "", "key": "` + pemKey + `"}]}`,
		"repeated id":    `{"public_keys": [{"key_identifier": "k", "key": "` + pemKey + `"}, {"key_identifier": "k", "key": "` + pemKey + `"}]}`,
		"not PEM":        `{"public_keys": [{"key_identifier": "k", "key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}]}`,
		"not P-256":      `{"public_keys": [{"key_identifier": "k", "key": ` + string(otherCurve) + `}]}`,
		"wrong PEM type": `{"public_keys": [{"key_identifier": "k", "key": "` + strings.ReplaceAll(pemKey, "PUBLIC KEY", "CERTIFICATE") + `"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			_, err := scanning.ParseKeys([]byte(data))
			is.True(errors.Is(err, scanning.ErrInvalidKeys)) // refused
			var ke *scanning.KeysError
			is.True(errors.As(err, &ke)) // saying where
			if name == "not P-256" {
				is.Equal(ke.Reason, "key is not ECDSA P-256") // and why
			}
		})
	}
}

// A key list from the network never panics the parser, and a list it
// accepts gives P-256 keys only.
func FuzzParseKeys(f *testing.F) {
	f.Add(keyList(f, newSigner(f, "key-a")))
	f.Add([]byte(`{"public_keys": [{"key_identifier": "k", "key": "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"}]}`))
	f.Add([]byte(`{"public_keys": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := scanning.ParseKeys(data)
		if err != nil {
			if !errors.Is(err, scanning.ErrInvalidKeys) {
				t.Fatalf("an untyped error: %v", err)
			}
			return
		}
		if keys.Len() == 0 {
			t.Fatal("an empty list was accepted")
		}
	})
}
