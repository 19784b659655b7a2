package hmacsign_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// vectors is testdata/standard-webhooks-vectors.json: the Standard Webhooks
// specification's published vector and cases derived from it, GitHub's
// published vector, and a vector made with Stripe's own library.
type vectors struct {
	Standard []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
		VerifyAt  int64  `json:"verify_at"`
		Valid     bool   `json:"valid"`
	} `json:"standard_webhooks_v1"`
	GitHub struct {
		Secret    string `json:"secret"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	} `json:"github_sha256"`
	Stripe struct {
		Secret    string `json:"secret"`
		Timestamp int64  `json:"timestamp"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	} `json:"stripe_v1"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	data, err := os.ReadFile("testdata/standard-webhooks-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// standardExpect says, for each Standard Webhooks case by name, how rotor
// must refuse it (nil: accept) and whether its signature header holds the
// entry rotor signs for the case's message.
var standardExpect = map[string]struct {
	err   error
	signs bool
}{
	"published vector":                      {nil, true},
	"several signatures, matching one last": {nil, true},
	"unknown version entries are skipped":   {nil, true},
	"inside tolerance (4m59s later)":        {nil, true},
	"too old (5m01s later)":                 {hmacsign.ErrTimestampTooOld, true},
	"too new (5m01s earlier)":               {hmacsign.ErrTimestampTooNew, true},
	"tampered payload":                      {hmacsign.ErrNoMatch, false},
	"tampered id":                           {hmacsign.ErrNoMatch, false},
	"wrong secret":                          {hmacsign.ErrNoMatch, false},
	"signature without version":             {hmacsign.ErrMalformedHeader, false},
	"empty signature header":                {hmacsign.ErrMissingHeader, false},
	"truncated signature":                   {hmacsign.ErrMalformedHeader, false},
}

func TestStandardWebhooksVectors(t *testing.T) {
	vecs := loadVectors(t)
	if len(vecs.Standard) != len(standardExpect) {
		t.Fatalf("%d Standard Webhooks cases, %d expectations: update standardExpect", len(vecs.Standard), len(standardExpect))
	}
	for _, c := range vecs.Standard {
		t.Run(c.Name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			want, ok := standardExpect[c.Name]
			is.True(ok)                        // every case has an expectation
			is.Equal(c.Valid, want.err == nil) // which agrees with the file's verdict
			keys := hmacsign.StaticKeys{newKey(t, "key_1", c.Secret, time.Time{})}

			m := hmacsign.Message{ID: c.ID, Timestamp: strconv.FormatInt(c.Timestamp, 10), Signature: c.Signature, Payload: []byte(c.Payload)}
			v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: fixed(unix(c.VerifyAt))})
			id, err := v.Verify(ctx, "owner", m)
			if want.err == nil {
				is.NoErr(err)         // a valid case verifies
				is.Equal(id, "key_1") // with the case's key
			} else {
				is.True(errors.Is(err, want.err))                     // an invalid one is refused for its reason
				is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // as an invalid signature
			}

			// The secret without its prefix (and padding), read as the
			// other Standard Webhooks libraries read it, by NewWebhookKey:
			// the same verdict. NewKey takes that string for an API key,
			// whose bytes are the HMAC key, so nothing it signed verifies.
			bare := strings.TrimPrefix(c.Secret, "whsec_")
			for _, s := range []string{c.Secret, bare, strings.TrimRight(bare, "=")} {
				wk, werr := hmacsign.NewWebhookKey("key_1", secrets.NewValue(s), time.Time{})
				is.NoErr(werr) // a Standard Webhooks secret in any of its forms
				_, werr = newVerifier(t, hmacsign.StaticKeys{wk}, &hmacsign.VerifierOptions{Now: fixed(unix(c.VerifyAt))}).Verify(ctx, "owner", m)
				is.Equal(werr == nil, err == nil) // gives the same verdict
				if err != nil {
					is.True(errors.Is(werr, want.err)) // for the same reason
				}
			}
			if want.err == nil {
				nk := hmacsign.StaticKeys{newKey(t, "key_1", bare, time.Time{})}
				_, nerr := newVerifier(t, nk, &hmacsign.VerifierOptions{Now: fixed(unix(c.VerifyAt))}).Verify(ctx, "owner", m)
				is.True(errors.Is(nerr, hmacsign.ErrNoMatch)) // NewKey does not guess that a bare string is base64
			}

			// The same message through headers, as a receiver reads it.
			h := http.Header{}
			h.Set("webhook-id", m.ID)
			h.Set("webhook-timestamp", m.Timestamp)
			h.Set("webhook-signature", m.Signature)
			_, herr := v.VerifyRequest(ctx, "owner", h, m.Payload)
			is.Equal(herr == nil, err == nil) // headers give the same verdict
			if err != nil {
				is.True(errors.Is(herr, want.err)) // for the same reason
			}

			signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: fixed(unix(c.Timestamp))})
			signed, err := signer.Sign(ctx, "owner", c.ID, []byte(c.Payload))
			is.NoErr(err)                                                                        // signing the case's message works
			is.Equal(signed.Timestamp, m.Timestamp)                                              // at the case's time
			is.Equal(slices.Contains(strings.Fields(c.Signature), signed.Signature), want.signs) // to the very entry the case holds
		})
	}
}

func TestGitHubVector(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	c := loadVectors(t).GitHub
	keys := hmacsign.StaticKeys{newKey(t, "gh", c.Secret, time.Time{})}
	signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: hmacsign.GitHub, Now: fixed(t0)})
	m, err := signer.Sign(ctx, "owner", "72d3162e-cc78-11e3-81ab-4c9367dc0958", []byte(c.Payload))
	is.NoErr(err) // signing works
	want := http.Header{"X-Hub-Signature-256": {c.Signature}, "X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}}
	if diff := cmp.Diff(want, headerOf(signer, m)); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}

	h := http.Header{}
	h.Set("X-Hub-Signature-256", c.Signature)
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: hmacsign.GitHub, Now: fixed(t0)})
	id, err := v.VerifyRequest(ctx, "owner", h, []byte(c.Payload))
	is.NoErr(err)      // GitHub's published signature verifies
	is.Equal(id, "gh") // with the key
	_, err = v.VerifyRequest(ctx, "owner", h, []byte(c.Payload+"!"))
	is.True(errors.Is(err, hmacsign.ErrNoMatch)) // and not for another payload
}

func TestStripeVector(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	c := loadVectors(t).Stripe
	keys := hmacsign.StaticKeys{newKey(t, "st", c.Secret, time.Time{})}
	signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Scheme: hmacsign.Stripe, Now: fixed(unix(c.Timestamp))})
	m, err := signer.Sign(ctx, "owner", "", []byte(c.Payload))
	is.NoErr(err) // signing works
	if diff := cmp.Diff(http.Header{"Stripe-Signature": {c.Signature}}, headerOf(signer, m)); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}

	h := http.Header{}
	h.Set("Stripe-Signature", c.Signature)
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: hmacsign.Stripe, Now: fixed(unix(c.Timestamp + 60))})
	id, err := v.VerifyRequest(ctx, "owner", h, []byte(c.Payload))
	is.NoErr(err)      // the Stripe-made signature verifies
	is.Equal(id, "st") // with the key
	late := newVerifier(t, keys, &hmacsign.VerifierOptions{Scheme: hmacsign.Stripe, Now: fixed(unix(c.Timestamp + 301))})
	_, err = late.VerifyRequest(ctx, "owner", h, []byte(c.Payload))
	is.True(errors.Is(err, hmacsign.ErrTimestampTooOld)) // and the tolerance applies
}
