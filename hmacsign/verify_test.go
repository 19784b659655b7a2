package hmacsign_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
)

// sign signs payload for owner with keys under scheme at now, or fails t.
func sign(t testing.TB, keys hmacsign.KeySource, scheme hmacsign.Scheme, now time.Time, id, payload string) hmacsign.Message {
	t.Helper()
	s := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: scheme, Now: fixed(now)})
	m, err := s.Sign(t.Context(), "owner", id, []byte(payload))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return m
}

const payload = `{"type":"invoice.paid","id":"in_42"}`

func TestVerifyAccepts(t *testing.T) {
	keyA := newKey(t, "key_a", secretA, time.Time{})
	keyB := newKey(t, "key_b", secretB, time.Time{})
	good := sign(t, hmacsign.StaticKeys{keyA}, nil, t0, "msg_1", payload)
	entryA := good.Signature
	other := sign(t, hmacsign.StaticKeys{keyB}, nil, t0, "msg_1", payload).Signature
	tests := []struct {
		name   string
		keys   hmacsign.StaticKeys
		edit   func(m *hmacsign.Message)
		at     time.Time
		wantID string
	}{
		{"as signed", hmacsign.StaticKeys{keyA}, nil, t0, "key_a"},
		{"second of two keys", hmacsign.StaticKeys{keyB, keyA}, nil, t0, "key_a"},
		{"matching entry last", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = other + " " + entryA }, t0, "key_a"},
		{"matching entry first", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = entryA + " " + other }, t0, "key_a"},
		{"unknown versions skipped", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = "v1a,aGVsbG8= v2,Zm9v nocomma " + entryA }, t0, "key_a"},
		{"extra spaces", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = "  " + entryA + "  " }, t0, "key_a"},
		{"bad v1 entries skipped", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = "v1,!!!! v1, " + entryA }, t0, "key_a"},
		{"eighth entry", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) { m.Signature = strings.Repeat(other+" ", 7) + entryA }, t0, "key_a"},
		{"expired key skipped, valid one used", hmacsign.StaticKeys{newKey(t, "old", secretA, t0), keyA}, nil, t0, "key_a"},
		{"at the tolerance in the past", hmacsign.StaticKeys{keyA}, nil, t0.Add(5 * time.Minute), "key_a"},
		{"at the tolerance in the future", hmacsign.StaticKeys{keyA}, nil, t0.Add(-5 * time.Minute), "key_a"},
		{"nil payload signed empty", hmacsign.StaticKeys{keyA}, func(m *hmacsign.Message) {
			*m = sign(t, hmacsign.StaticKeys{keyA}, nil, t0, "msg_1", "")
			m.Payload = nil
		}, t0, "key_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := good
			if tt.edit != nil {
				tt.edit(&m)
			}
			v := newVerifier(t, tt.keys, &hmacsign.VerifierOptions{Now: fixed(tt.at)})
			id, err := v.Verify(t.Context(), "owner", m)
			is.NoErr(err)           // the message verifies
			is.Equal(id, tt.wantID) // with the key that signed it
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	keyA := newKey(t, "key_a", secretA, time.Time{})
	good := sign(t, hmacsign.StaticKeys{keyA}, nil, t0, "msg_1", payload)
	entry := strings.TrimPrefix(good.Signature, "v1,")
	// The same MAC with its last character's unused bits set: decodes to the
	// same bytes under lax base64, but is not the canonical encoding.
	lax := entry[:42] + string(entry[42]+1) + "="
	wrongKey := sign(t, hmacsign.StaticKeys{newKey(t, "key_b", secretB, time.Time{})}, nil, t0, "msg_1", payload).Signature
	tests := []struct {
		name   string
		keys   hmacsign.KeySource
		edit   func(m *hmacsign.Message)
		at     time.Time
		want   error
		detail string
	}{
		{"no id", nil, func(m *hmacsign.Message) { m.ID = "" }, t0, hmacsign.ErrMissingHeader, "webhook-id is missing"},
		{"no timestamp", nil, func(m *hmacsign.Message) { m.Timestamp = "" }, t0, hmacsign.ErrMissingHeader, "webhook-timestamp is missing"},
		{"no signature", nil, func(m *hmacsign.Message) { m.Signature = "" }, t0, hmacsign.ErrMissingHeader, "webhook-signature is missing"},
		{"timestamp not a number", nil, func(m *hmacsign.Message) { m.Timestamp = "yesterday" }, t0, hmacsign.ErrMalformedHeader, "webhook-timestamp is not a decimal integer"},
		{"timestamp with sign", nil, func(m *hmacsign.Message) { m.Timestamp = "+" + m.Timestamp }, t0, hmacsign.ErrMalformedHeader, "webhook-timestamp is not a decimal integer"},
		{"negative timestamp", nil, func(m *hmacsign.Message) { m.Timestamp = "-1" }, t0, hmacsign.ErrMalformedHeader, "webhook-timestamp is not a decimal integer"},
		{"fractional timestamp", nil, func(m *hmacsign.Message) { m.Timestamp += ".5" }, t0, hmacsign.ErrMalformedHeader, "webhook-timestamp is not a decimal integer"},
		{"timestamp overflows", nil, func(m *hmacsign.Message) { m.Timestamp = "9223372036854775808" }, t0, hmacsign.ErrMalformedHeader, "webhook-timestamp is not a decimal integer"},
		{"timestamp in ms", nil, func(m *hmacsign.Message) { m.Timestamp += "000" }, t0, hmacsign.ErrTimestampTooNew, "webhook-timestamp is more than 5m0s in the future"},
		{"largest timestamp", nil, func(m *hmacsign.Message) { m.Timestamp = "9223372036854775807" }, t0, hmacsign.ErrTimestampTooNew, "webhook-timestamp is more than 5m0s in the future"},
		{"zero timestamp", nil, func(m *hmacsign.Message) { m.Timestamp = "0" }, t0, hmacsign.ErrTimestampTooOld, "webhook-timestamp is more than 5m0s in the past"},
		{"a nanosecond too old", nil, nil, t0.Add(5*time.Minute + 1), hmacsign.ErrTimestampTooOld, "webhook-timestamp is more than 5m0s in the past"},
		{"a nanosecond too new", nil, nil, t0.Add(-5*time.Minute - 1), hmacsign.ErrTimestampTooNew, "webhook-timestamp is more than 5m0s in the future"},
		{"only unknown versions", nil, func(m *hmacsign.Message) { m.Signature = "v1a," + entry + " v2," + entry }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"no version", nil, func(m *hmacsign.Message) { m.Signature = entry }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"truncated", nil, func(m *hmacsign.Message) { m.Signature = m.Signature[:30] }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"unpadded", nil, func(m *hmacsign.Message) { m.Signature = strings.TrimSuffix(m.Signature, "=") }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"not canonical base64", nil, func(m *hmacsign.Message) { m.Signature = "v1," + lax }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"url-safe alphabet", nil, func(m *hmacsign.Message) { m.Signature = "v1,-" + entry[1:] }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"comma separated", nil, func(m *hmacsign.Message) { m.Signature = m.Signature + "," + m.Signature }, t0, hmacsign.ErrMalformedHeader, "webhook-signature holds no usable entry of a known version"},
		{"wrong key", nil, func(m *hmacsign.Message) { m.Signature = wrongKey }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"tampered payload", nil, func(m *hmacsign.Message) { m.Payload = []byte(strings.Replace(payload, "42", "43", 1)) }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"tampered id", nil, func(m *hmacsign.Message) { m.ID = "msg_2" }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"tampered timestamp", nil, func(m *hmacsign.Message) { m.Timestamp = fmt.Sprint(t0.Unix() + 1) }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"payload moved into id", nil, func(m *hmacsign.Message) { m.ID, m.Payload = m.ID+"."+m.Timestamp, nil }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"beyond eight entries", nil, func(m *hmacsign.Message) { m.Signature = strings.Repeat(wrongKey+" ", 8) + m.Signature }, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"no keys", hmacsign.StaticKeys{}, nil, t0, hmacsign.ErrNoKeys, "the owner has no valid key for standard-webhooks"},
		{"zero key", hmacsign.StaticKeys{{}}, nil, t0, hmacsign.ErrNoKeys, "the owner has no valid key for standard-webhooks"},
		{"expired key", hmacsign.StaticKeys{newKey(t, "key_a", secretA, t0)}, nil, t0, hmacsign.ErrNoKeys, "the owner has no valid key for standard-webhooks"},
		{"raw-only key", hmacsign.StaticKeys{newKey(t, "key_s", "whsec_test_secret", time.Time{})}, nil, t0, hmacsign.ErrNoKeys, "the owner has no valid key for standard-webhooks"},
		{"other owner's key", ownerKeys{"owner": {newKey(t, "key_b", secretB, time.Time{})}, "other": {keyA}}, nil, t0, hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := good
			if tt.edit != nil {
				tt.edit(&m)
			}
			keys := tt.keys
			if keys == nil {
				keys = hmacsign.StaticKeys{keyA}
			}
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: fixed(tt.at)})
			id, err := v.Verify(t.Context(), "owner", m)
			is.Equal(id, "")                                      // a refused message names no key
			is.True(errors.Is(err, tt.want))                      // the refusal names the failed check
			is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // and is an invalid signature
			verr, ok := errors.AsType[*hmacsign.VerifyError](err)
			is.True(ok)                                            // as a *VerifyError
			is.Equal(verr.Detail, tt.detail)                       // whose detail says what was wrong
			is.Equal(err.Error(), verr.Err.Error()+": "+tt.detail) // and the message is the check and the detail
			if m.Signature != "" {
				is.True(!strings.Contains(err.Error(), m.Signature)) // never the header's contents
			}
			assertNoLeak(t, err.Error(), secretA, secretB)
		})
	}
}

func TestVerifyToleranceIsExact(t *testing.T) {
	key := newKey(t, "k", secretA, time.Time{})
	m := sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", payload)
	tests := []struct {
		name string
		tol  time.Duration
		at   time.Time
		want error
	}{
		{"90s, 90s later", 90 * time.Second, t0.Add(90 * time.Second), nil},
		{"90s, 90s and 1ns later", 90 * time.Second, t0.Add(90*time.Second + 1), hmacsign.ErrTimestampTooOld},
		{"90s, 90s earlier", 90 * time.Second, t0.Add(-90 * time.Second), nil},
		{"90s, 90s and 1ns earlier", 90 * time.Second, t0.Add(-90*time.Second - 1), hmacsign.ErrTimestampTooNew},
		{"1.5s, 1.5s later", 1500 * time.Millisecond, t0.Add(1500 * time.Millisecond), nil},
		{"1.5s, 1.6s later", 1500 * time.Millisecond, t0.Add(1600 * time.Millisecond), hmacsign.ErrTimestampTooOld},
		{"1.5s, 1.5s earlier", 1500 * time.Millisecond, t0.Add(-1500 * time.Millisecond), nil},
		{"1.5s, 1.6s earlier", 1500 * time.Millisecond, t0.Add(-1600 * time.Millisecond), hmacsign.ErrTimestampTooNew},
		{"1ns, same second", time.Nanosecond, t0, nil},
		{"1ns, 2ns later", time.Nanosecond, t0.Add(2), hmacsign.ErrTimestampTooOld},
		{"largest tolerance, zero clock", time.Duration(1<<63 - 1), time.Time{}, hmacsign.ErrTimestampTooNew},
		{"largest tolerance, a century later", time.Duration(1<<63 - 1), t0.AddDate(100, 0, 0), nil},
		{"default, zero clock", 0, time.Time{}, hmacsign.ErrTimestampTooNew},
		{"default, far future clock", 0, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), hmacsign.ErrTimestampTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Tolerance: tt.tol, Now: fixed(tt.at)})
			_, err := v.Verify(t.Context(), "owner", m)
			if tt.want == nil {
				is.NoErr(err) // within the tolerance, bounds included
			} else {
				is.True(errors.Is(err, tt.want)) // beyond it, by as little as a nanosecond
			}
		})
	}
}

func TestVerifyDuringRotation(t *testing.T) {
	ctx := t.Context()
	graceEnd := t0.Add(60 * time.Second)
	oldKey := newKey(t, "key_old", secretA, graceEnd)
	newK := newKey(t, "key_new", secretB, time.Time{})
	sender := hmacsign.StaticKeys{newK, oldKey} // the designated key first
	clk := newClock(t0)
	signer := hmacsign.NewSigner(sender, &hmacsign.SignerOptions{Now: clk.Now})
	oldReceiver := newVerifier(t, hmacsign.StaticKeys{newKey(t, "key_old", secretA, time.Time{})}, &hmacsign.VerifierOptions{Now: clk.Now})
	newReceiver := newVerifier(t, hmacsign.StaticKeys{newK}, &hmacsign.VerifierOptions{Now: clk.Now})
	bothReceiver := newVerifier(t, sender, &hmacsign.VerifierOptions{Now: clk.Now})

	is := is.New(t)
	during, err := signer.Sign(ctx, "owner", "msg_1", []byte(payload))
	is.NoErr(err)                                      // signing in the grace window works
	is.Equal(len(strings.Fields(during.Signature)), 2) // with both keys
	_, err = oldReceiver.Verify(ctx, "owner", during)
	is.NoErr(err) // a receiver that still has the old secret verifies
	id, err := newReceiver.Verify(ctx, "owner", during)
	is.NoErr(err)           // so does one with the new secret
	is.Equal(id, "key_new") // by the new key
	id, err = bothReceiver.Verify(ctx, "owner", during)
	is.NoErr(err)           // and one with both
	is.Equal(id, "key_new") // which tries the designated key first

	clk.Set(graceEnd)
	after, err := signer.Sign(ctx, "owner", "msg_2", []byte(payload))
	is.NoErr(err)                                     // signing after the window works
	is.Equal(len(strings.Fields(after.Signature)), 1) // with the new key alone
	_, err = oldReceiver.Verify(ctx, "owner", after)
	is.True(errors.Is(err, hmacsign.ErrNoMatch)) // the old secret no longer verifies new messages
	_, err = newReceiver.Verify(ctx, "owner", after)
	is.NoErr(err) // the new one does

	// A message signed with the old key alone during the window is refused
	// once the window ends, by a verifier that knows when it ends.
	oldOnly := sign(t, hmacsign.StaticKeys{oldKey}, nil, graceEnd.Add(-time.Second), "msg_3", payload)
	_, err = bothReceiver.Verify(ctx, "owner", oldOnly)
	is.True(errors.Is(err, hmacsign.ErrNoMatch)) // the expired key is not tried
}

// TestVerifyNamesTheSigningKey verifies messages from each of three keys in
// turn, so that the key tried first keeps changing (the order itself is
// checked by TestVerifyTriesLastMatchFirst, inside the package).
func TestVerifyNamesTheSigningKey(t *testing.T) {
	ctx := t.Context()
	keys := hmacsign.StaticKeys{
		newKey(t, "k1", secretA, time.Time{}),
		newKey(t, "k2", secretB, time.Time{}),
		newKey(t, "k3", secretC, time.Time{}),
	}
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: fixed(t0)})
	// Whatever order the keys are tried in, the key that signed is named.
	for _, i := range []int{2, 2, 0, 1, 2, 0, 0, 1} {
		m := sign(t, keys[i:i+1], nil, t0, "msg_1", payload)
		id, err := v.Verify(ctx, "owner", m)
		if err != nil || id != keys[i].ID() {
			t.Fatalf("Verify of a message signed by %s = %q, %v", keys[i].ID(), id, err)
		}
	}
}

func TestVerifySourceErrors(t *testing.T) {
	key := newKey(t, "k", secretA, time.Time{})
	m := sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", payload)
	tests := []struct {
		name string
		err  error
	}{
		{"canceled", context.Canceled},
		{"deadline", context.DeadlineExceeded},
		{"backend", errors.New("database is down")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, failingSource{tt.err}, &hmacsign.VerifierOptions{Now: fixed(t0)})
			_, err := v.Verify(t.Context(), "org_1", m)
			is.True(errors.Is(err, tt.err))                        // the source's error comes through
			is.True(!errors.Is(err, hmacsign.ErrInvalidSignature)) // and is no verdict on the signature
			is.True(strings.Contains(err.Error(), `"org_1"`))      // it names the owner
		})
	}
	is := is.New(t)
	v := newVerifier(t, failingSource{errors.New("never asked")}, &hmacsign.VerifierOptions{Now: fixed(t0)})
	m.Signature = "v2,garbage"
	_, err := v.Verify(t.Context(), "org_1", m)
	is.True(errors.Is(err, hmacsign.ErrMalformedHeader)) // garbage is refused before the source is asked
}

func TestVerifyRequest(t *testing.T) {
	key := newKey(t, "k", secretA, time.Time{})
	keys := hmacsign.StaticKeys{key}
	for _, tt := range allSchemes {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: tt.scheme, Now: fixed(t0)})
			m, err := signer.Sign(t.Context(), "owner", "msg_1", []byte(payload))
			is.NoErr(err) // signing works
			h := headerOf(signer, m)
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: tt.scheme, Now: fixed(t0.Add(time.Minute))})
			is.Equal(v.Scheme(), tt.scheme) // the verifier uses the scheme asked for
			id, err := v.VerifyRequest(t.Context(), "owner", h, []byte(payload))
			is.NoErr(err)     // the headers the signer wrote verify
			is.Equal(id, "k") // with the key that signed
			_, err = v.VerifyRequest(t.Context(), "owner", h, []byte(payload+" "))
			is.True(errors.Is(err, hmacsign.ErrNoMatch)) // another body does not
			_, err = v.VerifyRequest(t.Context(), "owner", http.Header{}, []byte(payload))
			is.True(errors.Is(err, hmacsign.ErrMissingHeader)) // nor do no headers
		})
	}
}

// TestVerifyRequestSvixHeaders reads Standard Webhooks messages whose
// headers come in Svix's spelling, in ours, in both, or mixed.
func TestVerifyRequestSvixHeaders(t *testing.T) {
	keyA := newKey(t, "key_a", secretA, time.Time{})
	keyB := newKey(t, "key_b", secretB, time.Time{})
	m := sign(t, hmacsign.StaticKeys{keyA}, nil, t0, "msg_1", payload)
	// Signed by a key the receiver also holds: a signature that verifies
	// by itself, to show that a differing one is refused all the same.
	byB := sign(t, hmacsign.StaticKeys{keyB}, nil, t0, "msg_1", payload)
	ts := m.Timestamp
	tests := []struct {
		name   string
		h      http.Header
		wantID string
		want   error
		detail string
	}{
		{"svix only", http.Header{"Svix-Id": {m.ID}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature}}, "key_a", nil, ""},
		{"webhook only", http.Header{"Webhook-Id": {m.ID}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {m.Signature}}, "key_a", nil, ""},
		{"both, identical", http.Header{
			"Webhook-Id": {m.ID}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {m.Signature},
			"Svix-Id": {m.ID}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature},
		}, "key_a", nil, ""},
		{"mixed spellings", http.Header{"Webhook-Id": {m.ID}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature}}, "key_a", nil, ""},
		{"an empty header counts as absent", http.Header{
			"Webhook-Id": {""}, "Webhook-Timestamp": {""}, "Webhook-Signature": {""},
			"Svix-Id": {m.ID}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature},
		}, "key_a", nil, ""},
		{"signatures differ", http.Header{
			"Webhook-Id": {m.ID}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {m.Signature},
			"Svix-Signature": {byB.Signature},
		}, "", hmacsign.ErrMalformedHeader, "webhook-signature and svix-signature differ"},
		{"ids differ", http.Header{
			"Webhook-Id": {m.ID}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {m.Signature},
			"Svix-Id": {"msg_2"},
		}, "", hmacsign.ErrMalformedHeader, "webhook-id and svix-id differ"},
		{"timestamps differ", http.Header{
			"Svix-Id": {m.ID}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature},
			"Webhook-Timestamp": {fmt.Sprint(t0.Unix() + 1)},
		}, "", hmacsign.ErrMalformedHeader, "webhook-timestamp and svix-timestamp differ"},
		{"svix, one missing", http.Header{"Svix-Id": {m.ID}, "Svix-Signature": {m.Signature}}, "", hmacsign.ErrMissingHeader, "webhook-timestamp is missing"},
		{"svix, tampered", http.Header{"Svix-Id": {"msg_2"}, "Svix-Timestamp": {ts}, "Svix-Signature": {m.Signature}}, "", hmacsign.ErrNoMatch, "webhook-signature matches no valid key"},
		{"neither", http.Header{}, "", hmacsign.ErrMissingHeader, "webhook-id is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, hmacsign.StaticKeys{keyB, keyA}, &hmacsign.VerifierOptions{Now: fixed(t0)})
			id, err := v.VerifyRequest(t.Context(), "owner", tt.h, []byte(payload))
			is.Equal(id, tt.wantID) // the key that signed, or none
			if tt.want == nil {
				is.NoErr(err) // either spelling verifies
				return
			}
			is.True(errors.Is(err, tt.want))                      // the refusal names the failed check
			is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // and is an invalid signature
			verr, ok := errors.AsType[*hmacsign.VerifyError](err)
			is.True(ok)                                          // as a *VerifyError
			is.Equal(verr.Detail, tt.detail)                     // whose detail says which header
			is.True(!strings.Contains(err.Error(), m.Signature)) // never the header's contents
		})
	}

	// Other schemes have no second spelling: Svix's headers are not theirs.
	is := is.New(t)
	gh := newVerifier(t, hmacsign.StaticKeys{keyA}, &hmacsign.VerifierOptions{Scheme: hmacsign.GitHub, Now: fixed(t0)})
	_, err := gh.VerifyRequest(t.Context(), "owner", http.Header{"Svix-Signature": {m.Signature}}, []byte(payload))
	is.True(errors.Is(err, hmacsign.ErrMissingHeader)) // GitHub reads X-Hub-Signature-256 alone
}

// TestVerifyRequestSvixAsksNoKeys checks that differing spellings are
// refused before the key source is asked, as garbage is.
func TestVerifyRequestSvixAsksNoKeys(t *testing.T) {
	is := is.New(t)
	v := newVerifier(t, failingSource{errors.New("never asked")}, &hmacsign.VerifierOptions{Now: fixed(t0)})
	h := http.Header{"Webhook-Id": {"msg_1"}, "Svix-Id": {"msg_2"}, "Webhook-Timestamp": {fmt.Sprint(t0.Unix())}, "Webhook-Signature": {"v1,x"}}
	_, err := v.VerifyRequest(t.Context(), "owner", h, []byte(payload))
	is.True(errors.Is(err, hmacsign.ErrMalformedHeader)) // refused for the headers, not the source
}

func TestVerifyStripe(t *testing.T) {
	key := newKey(t, "k", "whsec_test_secret", time.Time{})
	other := newKey(t, "o", secretC, time.Time{})
	m := sign(t, hmacsign.StaticKeys{key}, hmacsign.Stripe, t0, "", payload)
	ts := fmt.Sprint(t0.Unix())
	v1 := strings.TrimPrefix(m.Signature, "t="+ts+",")
	v1Other := strings.TrimPrefix(sign(t, hmacsign.StaticKeys{other}, hmacsign.Stripe, t0, "", payload).Signature, "t="+ts+",")
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"as signed", m.Signature, nil},
		{"matching v1 second", "t=" + ts + "," + v1Other + "," + v1, nil},
		{"v0 skipped", "t=" + ts + ",v0=" + strings.Repeat("ab", 32) + "," + v1, nil},
		{"t last", v1 + ",t=" + ts, nil},
		{"upper-case hex", "t=" + ts + ",v1=" + strings.ToUpper(strings.TrimPrefix(v1, "v1=")), nil},
		{"empty", "", hmacsign.ErrMissingHeader},
		{"no timestamp", v1, hmacsign.ErrMalformedHeader},
		{"bad timestamp", "t=soon," + v1, hmacsign.ErrMalformedHeader},
		{"old timestamp", "t=" + fmt.Sprint(t0.Unix()-301) + "," + v1, hmacsign.ErrTimestampTooOld},
		{"only v0", "t=" + ts + ",v0=" + strings.TrimPrefix(v1, "v1="), hmacsign.ErrMalformedHeader},
		{"short hex", "t=" + ts + "," + v1[:len(v1)-2], hmacsign.ErrMalformedHeader},
		{"not hex", "t=" + ts + ",v1=" + strings.Repeat("zz", 32), hmacsign.ErrMalformedHeader},
		{"other key", "t=" + ts + "," + v1Other, hmacsign.ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Scheme: hmacsign.Stripe, Now: fixed(t0)})
			h := http.Header{}
			h.Set("Stripe-Signature", tt.header)
			id, err := v.VerifyRequest(t.Context(), "owner", h, []byte(payload))
			if tt.want == nil {
				is.NoErr(err)     // the header verifies
				is.Equal(id, "k") // with the key
				return
			}
			is.True(errors.Is(err, tt.want)) // the header is refused for the right reason
		})
	}
}

func TestVerifyGitHub(t *testing.T) {
	key := newKey(t, "k", "It's a Secret to Everybody", time.Time{})
	m := sign(t, hmacsign.StaticKeys{key}, hmacsign.GitHub, t0, "", payload)
	mac := strings.TrimPrefix(m.Signature, "sha256=")
	tests := []struct {
		name   string
		header string
		at     time.Time
		want   error
	}{
		{"as signed", m.Signature, t0, nil},
		{"a year later: no timestamp to check", m.Signature, t0.AddDate(1, 0, 0), nil},
		{"upper-case hex", "sha256=" + strings.ToUpper(mac), t0, nil},
		{"after a sha1 entry", "sha1=" + mac[:40] + ",sha256=" + mac, t0, nil},
		{"empty", "", t0, hmacsign.ErrMissingHeader},
		{"sha1 only", "sha1=" + mac[:40], t0, hmacsign.ErrMalformedHeader},
		{"bare hex", mac, t0, hmacsign.ErrMalformedHeader},
		{"wrong", "sha256=" + strings.Repeat("0", 64), t0, hmacsign.ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Scheme: hmacsign.GitHub, Now: fixed(tt.at)})
			h := http.Header{}
			h.Set("X-Hub-Signature-256", tt.header)
			_, err := v.VerifyRequest(t.Context(), "owner", h, []byte(payload))
			if tt.want == nil {
				is.NoErr(err) // the header verifies
				return
			}
			is.True(errors.Is(err, tt.want)) // the header is refused for the right reason
		})
	}
}

func TestVerifyAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations vary")
	}
	ctx := t.Context()
	keys := hmacsign.StaticKeys{
		newKey(t, "k1", secretA, time.Time{}),
		newKey(t, "k2", secretB, time.Time{}),
		newKey(t, "k3", secretC, time.Time{}),
	}
	for _, tt := range allSchemes {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := sign(t, keys[2:], tt.scheme, t0, "msg_1", payload)
			h := headerOf(hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: tt.scheme}), m)
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: tt.scheme, Now: fixed(t0)})
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := v.VerifyRequest(ctx, "owner", h, m.Payload); err != nil {
					t.Fatal(err)
				}
			})
			is.Equal(allocs, 0.0) // a verify allocates nothing once warm
		})
	}
}

func TestNewVerifierPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"nil source", func() { _, _ = hmacsign.NewVerifier(nil, nil) }},
		{"nil signer source", func() { hmacsign.NewSigner(nil, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic for a programmer error")
				}
			}()
			tt.f()
		})
	}
}

func TestErrorsMatch(t *testing.T) {
	is := is.New(t)
	for _, err := range []error{
		hmacsign.ErrMissingHeader, hmacsign.ErrMalformedHeader, hmacsign.ErrTimestampTooOld,
		hmacsign.ErrTimestampTooNew, hmacsign.ErrNoMatch, hmacsign.ErrReplayed,
	} {
		is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // every specific refusal is an invalid signature
	}
	is.True(!errors.Is(hmacsign.ErrNoKeys, hmacsign.ErrInvalidSignature))                            // a signer's lack of keys is not
	is.True(errors.Is(&hmacsign.VerifyError{Err: hmacsign.ErrNoKeys}, hmacsign.ErrInvalidSignature)) // a verifier's is
	is.True(errors.Is(hmacsign.ErrWeakKey, hmacsign.ErrInvalidKey))                                  // a weak key is an invalid key
}

// TestEntryDecoding changes each character of a valid entry to each byte
// value in turn and checks rotor's verdict against the standard library's
// decoders: an entry counts when it is exactly the canonical encoding of 32
// bytes, and verifies when those are the MAC.
func TestEntryDecoding(t *testing.T) {
	tests := []struct {
		name   string
		scheme hmacsign.Scheme
		secret string
		prefix string
		decode func(string) ([]byte, error)
	}{
		{"standard webhooks base64", hmacsign.StandardWebhooks, secretA, "v1,", decodeStdBase64},
		{"stripe hex", hmacsign.Stripe, secretC, "v1=", decodeHex},
		{"github hex", hmacsign.GitHub, secretC, "sha256=", decodeHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := hmacsign.StaticKeys{newKey(t, "k", tt.secret, time.Time{})}
			m := sign(t, keys, tt.scheme, t0, "msg_1", payload)
			head, entry, _ := strings.Cut(m.Signature, tt.prefix)
			want, err := tt.decode(entry)
			if err != nil {
				t.Fatal(err)
			}
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: tt.scheme, Now: fixed(t0)})
			for i := range len(entry) {
				for b := range 256 {
					e := entry[:i] + string([]byte{byte(b)}) + entry[i+1:]
					m.Signature = head + tt.prefix + e
					_, err := v.Verify(t.Context(), "owner", m)
					got, derr := tt.decode(e)
					switch {
					case derr != nil:
						if !errors.Is(err, hmacsign.ErrMalformedHeader) {
							t.Fatalf("entry %q does not decode, but Verify says %v", e, err)
						}
					case string(got) == string(want):
						if err != nil {
							t.Fatalf("entry %q decodes to the MAC, but Verify says %v", e, err)
						}
					default:
						if !errors.Is(err, hmacsign.ErrNoMatch) {
							t.Fatalf("entry %q decodes to another MAC, but Verify says %v", e, err)
						}
					}
				}
			}
		})
	}
}
