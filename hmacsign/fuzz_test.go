package hmacsign_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// The fuzz targets check every parser of outside input against a plain
// reference written with the standard library: rotor must never panic,
// must refuse what the reference refuses for the same reason, and must
// accept exactly what it accepts.

const fuzzNow = 1614265330

// refMAC is HMAC-SHA256 the obvious way.
func refMAC(key string, parts ...string) []byte {
	h := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// refTimestamp checks a timestamp as the reference does: nil if fine.
func refTimestamp(ts string) error {
	if ts == "" || strings.TrimLeft(ts, "0123456789") != "" {
		return hmacsign.ErrMalformedHeader
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	switch {
	case err != nil:
		return hmacsign.ErrMalformedHeader
	case sec < fuzzNow-300:
		return hmacsign.ErrTimestampTooOld
	case sec > fuzzNow+300:
		return hmacsign.ErrTimestampTooNew
	}
	return nil
}

// refEntries returns the verdict on the entries of sig, split at sep, that
// start with prefix and decode with decode to 32 bytes: the first eight
// count, as rotor documents.
func refEntries(sig string, sep, prefix string, decode func(string) ([]byte, error), mac []byte) error {
	var macs [][]byte
	for _, e := range strings.Split(sig, sep) {
		v, ok := strings.CutPrefix(e, prefix)
		if !ok {
			continue
		}
		b, err := decode(v)
		if err != nil || len(b) != 32 {
			continue
		}
		if macs = append(macs, b); len(macs) == 8 {
			break
		}
	}
	if len(macs) == 0 {
		return hmacsign.ErrMalformedHeader
	}
	for _, b := range macs {
		if hmac.Equal(b, mac) {
			return nil
		}
	}
	return hmacsign.ErrNoMatch
}

func decodeStdBase64(s string) ([]byte, error) {
	if len(s) != 44 { // exactly the padded encoding of 32 bytes; the decoder would skip \r and \n
		return nil, errors.New("wrong length")
	}
	return as32(base64.StdEncoding.Strict().DecodeString(s))
}

func decodeHex(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, errors.New("wrong length")
	}
	return as32(hex.DecodeString(s))
}

// as32 passes on a decoding of 32 bytes, and makes anything else an error.
func as32(b []byte, err error) ([]byte, error) {
	if err == nil && len(b) != 32 {
		err = errors.New("not 32 bytes")
	}
	return b, err
}

// checkVerdict fails t unless err is what the reference decided.
func checkVerdict(t *testing.T, id string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil || id != "k" {
			t.Fatalf("reference accepts, rotor says %q, %v", id, err)
		}
		return
	}
	if !errors.Is(err, want) || !errors.Is(err, hmacsign.ErrInvalidSignature) {
		t.Fatalf("reference refuses with %v, rotor says %q, %v", want, id, err)
	}
}

func FuzzStandardWebhooks(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1a,aGVsbG8= v2,Zm9v v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,frM35V2Z51bxs4v81I6TpLnscXkhXtKLP/7WPYVyj3A= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", []byte(`{"test": 2432232314}`))
	f.Add("x", "00001614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ\n1OE=", []byte{})
	f.Add("", "", "", []byte(nil))
	f.Add("a.b", "9223372036854775808", "v1,,,", []byte("."))
	keys := hmacsign.StaticKeys{newKey(f, "k", secret, time.Time{})}
	v := newVerifier(f, keys, &hmacsign.VerifierOptions{Now: fixed(unix(fuzzNow))})
	f.Fuzz(func(t *testing.T, id, ts, sig string, payload []byte) {
		got, err := v.Verify(t.Context(), "owner", hmacsign.Message{ID: id, Timestamp: ts, Signature: sig, Payload: payload})

		var want error
		switch {
		case id == "" || sig == "" || ts == "":
			want = hmacsign.ErrMissingHeader
		case refTimestamp(ts) != nil:
			want = refTimestamp(ts)
		default:
			want = refEntries(sig, " ", "v1,", decodeStdBase64, refMAC(string(raw), id, ".", ts, ".", string(payload)))
		}
		checkVerdict(t, got, err, want)

		// Through headers, the same verdict: header values that Go could
		// not send are still read as given.
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		got, err = v.VerifyRequest(t.Context(), "owner", h, payload)
		checkVerdict(t, got, err, want)
		// In Svix's spelling, and in both at once, the same again.
		svix := http.Header{"Svix-Id": {id}, "Svix-Timestamp": {ts}, "Svix-Signature": {sig}}
		got, err = v.VerifyRequest(t.Context(), "owner", svix, payload)
		checkVerdict(t, got, err, want)
		maps.Copy(svix, h)
		got, err = v.VerifyRequest(t.Context(), "owner", svix, payload)
		checkVerdict(t, got, err, want)
	})
}

func FuzzStripe(f *testing.F) {
	const secret = "whsec_test_secret"
	f.Add("t=1614265330,v1=3c5817089d739023dd6190f70a3757e04f7a2fd8b5dab12c2e000f51970dccff", []byte(`{"id":"evt_test_webhook","object":"event"}`))
	f.Add("v0=00,v1=3C5817089D739023DD6190F70A3757E04F7A2FD8B5DAB12C2E000F51970DCCFF,t=1614265330", []byte(`{"id":"evt_test_webhook","object":"event"}`))
	f.Add("t=,v1=", []byte{})
	f.Add("t=1614265330,t=1,v1=zz", []byte("x"))
	keys := hmacsign.StaticKeys{newKey(f, "k", secret, time.Time{})}
	v := newVerifier(f, keys, &hmacsign.VerifierOptions{Scheme: hmacsign.Stripe, Now: fixed(unix(fuzzNow))})
	f.Fuzz(func(t *testing.T, header string, payload []byte) {
		got, err := v.VerifyRequest(t.Context(), "owner", http.Header{"Stripe-Signature": {header}}, payload)

		ts := ""
		for e := range strings.SplitSeq(header, ",") {
			if v, ok := strings.CutPrefix(e, "t="); ok {
				ts = v
				break
			}
		}
		var want error
		switch {
		case header == "":
			want = hmacsign.ErrMissingHeader
		case ts == "":
			want = hmacsign.ErrMalformedHeader
		case refTimestamp(ts) != nil:
			want = refTimestamp(ts)
		default:
			want = refEntries(header, ",", "v1=", decodeHex, refMAC(secret, ts, ".", string(payload)))
		}
		checkVerdict(t, got, err, want)
	})
}

func FuzzGitHub(f *testing.F) {
	const secret = "It's a Secret to Everybody"
	f.Add("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", []byte("Hello, World!"))
	f.Add("sha1=01,sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", []byte("Hello, World!"))
	f.Add("sha256=", []byte{})
	keys := hmacsign.StaticKeys{newKey(f, "k", secret, time.Time{})}
	v := newVerifier(f, keys, &hmacsign.VerifierOptions{Scheme: hmacsign.GitHub, Now: fixed(unix(fuzzNow))})
	f.Fuzz(func(t *testing.T, header string, payload []byte) {
		got, err := v.VerifyRequest(t.Context(), "owner", http.Header{"X-Hub-Signature-256": {header}}, payload)
		want := hmacsign.ErrMissingHeader
		if header != "" {
			want = refEntries(header, ",", "sha256=", decodeHex, refMAC(secret, string(payload)))
		}
		checkVerdict(t, got, err, want)
	})
}

// FuzzNewWebhookKey checks NewWebhookKey, and NewKey on whsec_ secrets,
// against refWebhookKey: a key exists exactly when the reference decodes
// the secret to at least MinKeySize bytes, and then signs under those
// bytes.
func FuzzNewWebhookKey(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA")
	f.Add("whsec_c2l4dGVlbiBieXRlIGtleQ=")
	f.Add("whsec_test_secret")
	f.Add("whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("")
	f.Fuzz(func(t *testing.T, secret string) {
		k, err := hmacsign.NewWebhookKey("k", secrets.NewValue(secret), time.Time{})
		want, rerr := refWebhookKey(secret)
		if rerr != nil || len(want) < hmacsign.MinKeySize {
			if !errors.Is(err, hmacsign.ErrInvalidKey) {
				t.Fatalf("reference decodes %d bytes (%v), NewWebhookKey says %v", len(want), rerr, err)
			}
			if rerr == nil && !errors.Is(err, hmacsign.ErrWeakKey) {
				t.Fatalf("reference decodes %d bytes, NewWebhookKey says %v", len(want), err)
			}
		} else {
			if err != nil {
				t.Fatalf("reference decodes %d bytes, NewWebhookKey says %v", len(want), err)
			}
			checkStandardKey(t, k, want)
		}

		// NewKey reads a whsec_ secret the same way, and makes a raw-only
		// key of one that is not base64.
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < hmacsign.MinKeySize {
			return
		}
		k, err = hmacsign.NewKey("k", secrets.NewValue(secret), time.Time{})
		switch {
		case rerr != nil:
			if err != nil {
				t.Fatalf("NewKey of a whsec_ secret that is not base64: %v", err)
			}
			_, err := hmacsign.NewSigner(hmacsign.StaticKeys{k}, nil).SignAt(t.Context(), "owner", "msg_1", nil, time.Unix(fuzzNow, 0))
			if !errors.Is(err, hmacsign.ErrNoKeys) {
				t.Fatalf("a whsec_ secret that is not base64 signs Standard Webhooks messages: %v", err)
			}
		case len(want) < hmacsign.MinKeySize:
			if !errors.Is(err, hmacsign.ErrWeakKey) {
				t.Fatalf("reference decodes %d bytes, NewKey says %v", len(want), err)
			}
		default:
			if err != nil {
				t.Fatalf("reference decodes %d bytes, NewKey says %v", len(want), err)
			}
			checkStandardKey(t, k, want)
		}
	})
}

// checkStandardKey fails t unless k signs Standard Webhooks messages under
// the HMAC key want.
func checkStandardKey(t *testing.T, k hmacsign.Key, want []byte) {
	t.Helper()
	m, err := hmacsign.NewSigner(hmacsign.StaticKeys{k}, nil).SignAt(t.Context(), "owner", "msg_1", []byte("{}"), time.Unix(fuzzNow, 0))
	if err != nil {
		t.Fatalf("SignAt: %v", err)
	}
	if m.Signature != "v1,"+base64.StdEncoding.EncodeToString(refMAC(string(want), "msg_1.1614265330.{}")) {
		t.Fatal("the key does not sign under the decoded bytes")
	}
}

// FuzzSignVerify checks that whatever rotor accepts as a key and an id, it
// signs messages that it verifies, in every scheme.
func FuzzSignVerify(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", []byte(`{"a":1}`))
	f.Add("It's a Secret to Everybody", "", []byte{})
	f.Add("whsec_test_secret", "id.with.dots", []byte("."))
	f.Add(strings.Repeat("k", 100), strings.Repeat("i", 300), []byte(strings.Repeat("p", 5000)))
	f.Fuzz(func(t *testing.T, secret, id string, payload []byte) {
		key, err := hmacsign.NewKey("k", secrets.NewValue(secret), time.Time{})
		if err != nil {
			return
		}
		keys := hmacsign.StaticKeys{key}
		for _, scheme := range []hmacsign.Scheme{hmacsign.StandardWebhooks, hmacsign.Stripe, hmacsign.GitHub} {
			signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: scheme, Now: fixed(unix(fuzzNow))})
			m, err := signer.Sign(t.Context(), "owner", id, payload)
			if errors.Is(err, hmacsign.ErrInvalidMessageID) || errors.Is(err, hmacsign.ErrNoKeys) && scheme == hmacsign.StandardWebhooks {
				continue // an id that cannot travel; a raw-only key
			}
			if err != nil {
				t.Fatalf("%v: Sign: %v", scheme, err)
			}
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: scheme, Now: fixed(unix(fuzzNow + 1))})
			if _, err := v.VerifyRequest(t.Context(), "owner", headerOf(signer, m), payload); err != nil {
				t.Fatalf("%v: a signed message does not verify: %v", scheme, err)
			}
		}
	})
}
