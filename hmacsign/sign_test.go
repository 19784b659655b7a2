package hmacsign_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
)

func TestSignEntries(t *testing.T) {
	keyA := newKey(t, "a", secretA, time.Time{})
	keyB := newKey(t, "b", secretB, t0.Add(time.Minute)) // in grace for a minute
	keyC := newKey(t, "c", secretC, time.Time{})
	expired := newKey(t, "x", secretB, t0)
	rawOnly := newKey(t, "s", "whsec_test_secret", time.Time{})
	entryOf := func(scheme hmacsign.Scheme, k hmacsign.Key) string {
		m := sign(t, hmacsign.StaticKeys{k}, scheme, t0, "msg_1", payload)
		if scheme == hmacsign.Stripe {
			return strings.TrimPrefix(m.Signature, fmt.Sprintf("t=%d,", t0.Unix()))
		}
		return m.Signature
	}
	tests := []struct {
		name   string
		scheme hmacsign.Scheme
		keys   hmacsign.StaticKeys
		want   string
	}{
		{"one key", hmacsign.StandardWebhooks, hmacsign.StaticKeys{keyA}, entryOf(nil, keyA)},
		{"grace: both, designated first", hmacsign.StandardWebhooks, hmacsign.StaticKeys{keyA, keyB}, entryOf(nil, keyA) + " " + entryOf(nil, keyB)},
		{"order kept", hmacsign.StandardWebhooks, hmacsign.StaticKeys{keyB, keyA}, entryOf(nil, keyB) + " " + entryOf(nil, keyA)},
		{"expired skipped", hmacsign.StandardWebhooks, hmacsign.StaticKeys{expired, keyA, hmacsign.Key{}}, entryOf(nil, keyA)},
		{"raw-only skipped", hmacsign.StandardWebhooks, hmacsign.StaticKeys{rawOnly, keyC}, entryOf(nil, keyC)},
		{"stripe: both v1", hmacsign.Stripe, hmacsign.StaticKeys{keyA, rawOnly}, fmt.Sprintf("t=%d,", t0.Unix()) + entryOf(hmacsign.Stripe, keyA) + "," + entryOf(hmacsign.Stripe, rawOnly)},
		{"github: first only", hmacsign.GitHub, hmacsign.StaticKeys{expired, keyC, keyA}, entryOf(hmacsign.GitHub, keyC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sign(t, tt.keys, tt.scheme, t0, "msg_1", payload)
			if diff := cmp.Diff(tt.want, m.Signature); diff != "" {
				t.Errorf("Signature mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignMessage(t *testing.T) {
	is := is.New(t)
	key := newKey(t, "a", secretA, time.Time{})
	body := []byte(payload)
	m, err := hmacsign.NewSigner(hmacsign.StaticKeys{key}, &hmacsign.SignerOptions{Now: fixed(t0.Add(999 * time.Millisecond))}).
		Sign(t.Context(), "owner", "msg_1", body)
	is.NoErr(err)                                                                   // signing works
	is.Equal(m.ID, "msg_1")                                                         // the id is kept
	is.Equal(m.Timestamp, fmt.Sprint(t0.Unix()))                                    // the timestamp is now, in whole seconds
	is.True(regexp.MustCompile(`^v1,[A-Za-z0-9+/]{43}=$`).MatchString(m.Signature)) // one padded base64 entry
	is.Equal(&m.Payload[0], &body[0])                                               // the payload is shared, not copied

	gen, err := hmacsign.NewSigner(hmacsign.StaticKeys{key}, nil).Sign(t.Context(), "owner", "", body)
	is.NoErr(err)                              // an empty id is fine
	is.True(strings.HasPrefix(gen.ID, "msg_")) // and gets a new one
	is.True(gen.ID != hmacsign.NewMessageID()) // which is random
}

// TestSignAt signs with a signer whose own clock is an hour past every
// instant asked for: the timestamp and the keys are those of the instant.
func TestSignAt(t *testing.T) {
	graceEnd := t0.Add(time.Minute)
	keyNew := newKey(t, "new", secretB, time.Time{})
	keyOld := newKey(t, "old", secretA, graceEnd) // in grace until graceEnd
	keys := hmacsign.StaticKeys{keyNew, keyOld}
	signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: fixed(t0.Add(time.Hour))})
	stdA := string(mustDecode(t, strings.TrimPrefix(secretA, "whsec_")))
	stdB := string(mustDecode(t, strings.TrimPrefix(secretB, "whsec_")))
	entry := func(key string, at time.Time) string {
		return "v1," + base64.StdEncoding.EncodeToString(refMAC(key, "msg_1", ".", fmt.Sprint(at.Unix()), ".", payload))
	}
	tests := []struct {
		name    string
		at      time.Time
		wantTS  string
		wantSig string
	}{
		{"in the grace window: both keys", t0.Add(30*time.Second + 999*time.Millisecond), fmt.Sprint(t0.Unix() + 30), entry(stdB, t0.Add(30*time.Second)) + " " + entry(stdA, t0.Add(30*time.Second))},
		{"a nanosecond before the window ends", graceEnd.Add(-1), fmt.Sprint(graceEnd.Unix() - 1), entry(stdB, graceEnd.Add(-time.Second)) + " " + entry(stdA, graceEnd.Add(-time.Second))},
		{"as the window ends: the new key alone", graceEnd, fmt.Sprint(graceEnd.Unix()), entry(stdB, graceEnd)},
		{"the Unix epoch", time.Unix(0, 0), "0", entry(stdB, time.Unix(0, 0)) + " " + entry(stdA, time.Unix(0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, err := signer.SignAt(t.Context(), "owner", "msg_1", []byte(payload), tt.at)
			is.NoErr(err)                    // signing for the instant works
			is.Equal(m.ID, "msg_1")          // the id is kept
			is.Equal(m.Timestamp, tt.wantTS) // the timestamp is the instant's, in whole seconds
			if diff := cmp.Diff(tt.wantSig, m.Signature); diff != "" {
				t.Errorf("Signature mismatch (-want +got):\n%s", diff)
			}
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: fixed(tt.at)})
			id, err := v.Verify(t.Context(), "owner", m)
			is.NoErr(err)       // a verifier at that instant accepts it
			is.Equal(id, "new") // by the designated key
		})
	}

	is := is.New(t)
	now, err := signer.Sign(t.Context(), "owner", "msg_1", []byte(payload))
	is.NoErr(err)                                                 // Sign still signs
	is.Equal(now.Timestamp, fmt.Sprint(t0.Add(time.Hour).Unix())) // by the signer's clock
	is.Equal(now.Signature, entry(stdB, t0.Add(time.Hour)))       // with the keys valid by it

	gh := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: hmacsign.GitHub, Now: fixed(t0.Add(time.Hour))})
	m, err := gh.SignAt(t.Context(), "owner", "msg_1", []byte(payload), time.Time{})
	is.NoErr(err)             // without a timestamp, any instant does: it only picks the keys
	is.Equal(m.Timestamp, "") // and none is sent
	is.Equal(m.Signature, "sha256="+hex.EncodeToString(refMAC(secretB, payload)))
}

func TestSignRefuses(t *testing.T) {
	key := newKey(t, "a", secretA, time.Time{})
	tests := []struct {
		name   string
		keys   hmacsign.KeySource
		scheme hmacsign.Scheme
		id     string
		at     time.Time
		want   error
	}{
		{"no keys", hmacsign.StaticKeys{}, nil, "msg_1", t0, hmacsign.ErrNoKeys},
		{"only expired keys", hmacsign.StaticKeys{newKey(t, "x", secretA, t0)}, nil, "msg_1", t0, hmacsign.ErrNoKeys},
		{"only a raw key for standard webhooks", hmacsign.StaticKeys{newKey(t, "s", "whsec_test_secret", time.Time{})}, nil, "msg_1", t0, hmacsign.ErrNoKeys},
		{"unknown owner", ownerKeys{"other": {key}}, nil, "msg_1", t0, hmacsign.ErrNoKeys},
		{"source fails", failingSource{context.Canceled}, nil, "msg_1", t0, context.Canceled},
		{"id with space", hmacsign.StaticKeys{key}, nil, "msg 1", t0, hmacsign.ErrInvalidMessageID},
		{"id with newline", hmacsign.StaticKeys{key}, nil, "msg_1\r\nX-Evil: 1", t0, hmacsign.ErrInvalidMessageID},
		{"id not ascii", hmacsign.StaticKeys{key}, hmacsign.GitHub, "msg_é", t0, hmacsign.ErrInvalidMessageID},
		{"zero time", hmacsign.StaticKeys{key}, nil, "msg_1", time.Time{}, hmacsign.ErrInvalidTimestamp},
		{"a second before the epoch, stripe", hmacsign.StaticKeys{key}, hmacsign.Stripe, "msg_1", time.Unix(-1, 0), hmacsign.ErrInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := hmacsign.NewSigner(tt.keys, &hmacsign.SignerOptions{Scheme: tt.scheme, Now: fixed(tt.at)})
			m, err := s.Sign(t.Context(), "owner", tt.id, []byte(payload))
			is.True(errors.Is(err, tt.want))                       // the refusal says why
			is.Equal(m, hmacsign.Message{})                        // never an unsigned message
			is.True(!errors.Is(err, hmacsign.ErrInvalidSignature)) // signing errors are not verification errors

			s = hmacsign.NewSigner(tt.keys, &hmacsign.SignerOptions{Scheme: tt.scheme, Now: fixed(t0.Add(time.Hour))})
			m, err = s.SignAt(t.Context(), "owner", tt.id, []byte(payload), tt.at)
			is.True(errors.Is(err, tt.want)) // SignAt refuses the same for the same instant, whatever the clock says
			is.Equal(m, hmacsign.Message{})  // with no message either
		})
	}
}

func TestSignerHeaders(t *testing.T) {
	m := hmacsign.Message{ID: "msg_1", Timestamp: "1614265330", Signature: "SIG"}
	tests := []struct {
		name   string
		scheme hmacsign.Scheme
		want   http.Header
	}{
		{"standard webhooks", nil, http.Header{
			"Webhook-Id":        {"msg_1"},
			"Webhook-Timestamp": {"1614265330"},
			"Webhook-Signature": {"SIG"},
		}},
		{"stripe", hmacsign.Stripe, http.Header{"Stripe-Signature": {"SIG"}}},
		{"github", hmacsign.GitHub, http.Header{"X-Hub-Signature-256": {"SIG"}, "X-Github-Delivery": {"msg_1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hmacsign.NewSigner(hmacsign.StaticKeys{}, &hmacsign.SignerOptions{Scheme: tt.scheme})
			if diff := cmp.Diff(tt.want, headerOf(s, m)); diff != "" {
				t.Errorf("SetHeaders on a new header mismatch (-want +got):\n%s", diff)
			}
			h := http.Header{
				"Content-Type": {"application/json"}, "Webhook-Signature": {"old"}, "Stripe-Signature": {"old"}, "X-Hub-Signature-256": {"old"},
				"Svix-Id": {"old"}, "Svix-Timestamp": {"old"}, "Svix-Signature": {"old"},
			}
			s.SetHeaders(h, m)
			for k, v := range tt.want {
				if diff := cmp.Diff(v, h[k]); diff != "" {
					t.Errorf("SetHeaders %s mismatch (-want +got):\n%s", k, diff)
				}
			}
			if h.Get("Content-Type") != "application/json" {
				t.Error("SetHeaders dropped another header")
			}
			for _, k := range []string{"Svix-Id", "Svix-Timestamp", "Svix-Signature"} {
				// Standard Webhooks' own headers in Svix's spelling would
				// contradict the new ones; other schemes' messages do not
				// own them.
				if _, kept := h[k]; kept != (tt.scheme != nil) {
					t.Errorf("SetHeaders with %v: %s kept = %v", s.Scheme(), k, kept)
				}
			}
		})
	}
}

func TestSchemeNames(t *testing.T) {
	is := is.New(t)
	is.Equal(fmt.Sprint(hmacsign.StandardWebhooks), "standard-webhooks")                         // schemes print their names
	is.Equal(fmt.Sprint(hmacsign.Stripe), "stripe")                                              // for logs
	is.Equal(fmt.Sprint(hmacsign.GitHub), "github")                                              // and errors
	is.Equal(hmacsign.NewSigner(hmacsign.StaticKeys{}, nil).Scheme(), hmacsign.StandardWebhooks) // the default scheme
}

func TestNewMessageID(t *testing.T) {
	is := is.New(t)
	seen := map[string]bool{}
	for range 1000 {
		id := hmacsign.NewMessageID()
		is.True(regexp.MustCompile(`^msg_[A-Z2-7]{26}$`).MatchString(id)) // "msg_" and 26 base32 characters
		is.True(!seen[id])                                                // never repeated
		seen[id] = true
	}
}

// TestSignedContent checks the signatures of every scheme against HMACs
// computed the obvious way, for ids and timestamps around the size of the
// buffer that carries them into the MAC, and payloads around the size of
// a SHA-256 block.
func TestSignedContent(t *testing.T) {
	key := newKey(t, "k", secretA, time.Time{})
	stdKey := string(mustDecode(t, strings.TrimPrefix(secretA, "whsec_")))
	for _, n := range []int{1, 200, 240, 241, 242, 243, 244, 254, 255, 256, 257, 300, 1000} {
		t.Run(fmt.Sprint("id of ", n), func(t *testing.T) {
			is := is.New(t)
			id := strings.Repeat("i", n)
			ts := fmt.Sprint(t0.Unix())
			m := sign(t, hmacsign.StaticKeys{key}, nil, t0, id, payload)
			is.Equal(m.Signature, "v1,"+base64.StdEncoding.EncodeToString(refMAC(stdKey, id, ".", ts, ".", payload))) // Standard Webhooks signs id.timestamp.payload
			_, err := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: fixed(t0)}).Verify(t.Context(), "owner", m)
			is.NoErr(err) // and verifies it

			// A timestamp that long is not a time rotor accepts, but the
			// content still has to be right for the MAC to be compared.
			m.Timestamp = strings.Repeat("1", n)
			v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: fixed(t0)})
			_, err = v.Verify(t.Context(), "owner", m)
			is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // refused, without a panic
		})
	}
	for _, n := range []int{0, 1, 20, 21, 22, 52, 53, 54, 63, 64, 65, 150, 1000} {
		t.Run(fmt.Sprint("payload of ", n), func(t *testing.T) {
			is := is.New(t)
			ts := fmt.Sprint(t0.Unix())
			body := strings.Repeat("p", n)
			for _, id := range []string{"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "m", strings.Repeat("i", 250)} {
				m := sign(t, hmacsign.StaticKeys{key}, nil, t0, id, body)
				is.Equal(m.Signature, "v1,"+base64.StdEncoding.EncodeToString(refMAC(stdKey, id, ".", ts, ".", body))) // the payload follows id.timestamp.
			}
			stripe := sign(t, hmacsign.StaticKeys{key}, hmacsign.Stripe, t0, "", body)
			is.Equal(stripe.Signature, "t="+ts+",v1="+hex.EncodeToString(refMAC(secretA, ts, ".", body))) // and timestamp.
			gh := sign(t, hmacsign.StaticKeys{key}, hmacsign.GitHub, t0, "", body)
			is.Equal(gh.Signature, "sha256="+hex.EncodeToString(refMAC(secretA, body))) // or stands alone
		})
	}
	is := is.New(t)
	ts := fmt.Sprint(t0.Unix())
	stripe := sign(t, hmacsign.StaticKeys{key}, hmacsign.Stripe, t0, "", payload)
	is.Equal(stripe.Signature, "t="+ts+",v1="+hex.EncodeToString(refMAC(secretA, ts, ".", payload))) // Stripe signs timestamp.payload with the whole secret
	gh := sign(t, hmacsign.StaticKeys{key}, hmacsign.GitHub, t0, "", payload)
	is.Equal(gh.Signature, "sha256="+hex.EncodeToString(refMAC(secretA, payload))) // GitHub signs the payload with the whole secret
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
