package hmacsign_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// A secret rotated a minute ago with a grace window of five: messages carry
// a signature from each secret, so a receiver that still holds only the old
// one keeps verifying until the window ends.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	// In production these come from rotation.Rotator, or from your own
	// configuration; never from source code.
	current, err := hmacsign.NewKey("key_2", secrets.NewValue("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	previous, err := hmacsign.NewKey("key_1", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), now.Add(4*time.Minute))
	if err != nil {
		log.Fatal(err)
	}

	signer := hmacsign.NewSigner(hmacsign.StaticKeys{current, previous}, &hmacsign.SignerOptions{Now: clock})
	m, err := signer.Sign(ctx, "org_42", "msg_1", []byte(`{"type":"invoice.paid"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("entries:", len(strings.Fields(m.Signature)))

	// A receiver that has not switched yet.
	receiver, err := hmacsign.NewVerifier(hmacsign.StaticKeys{previous}, &hmacsign.VerifierOptions{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	keyID, err := receiver.Verify(ctx, "org_42", m)
	fmt.Println("verified by", keyID, err)

	// The payload changed on the way.
	m.Payload = []byte(`{"type":"invoice.refunded"}`)
	_, err = receiver.Verify(ctx, "org_42", m)
	fmt.Println(errors.Is(err, hmacsign.ErrInvalidSignature), errors.Is(err, hmacsign.ErrNoMatch))
	// Output:
	// entries: 2
	// verified by key_1 <nil>
	// true true
}

func ExampleMiddleware() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key, err := hmacsign.NewKey("key_1", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	keys := hmacsign.StaticKeys{key}

	// The receiving side: the owner is the last element of the path.
	verifier, err := hmacsign.NewVerifier(keys, &hmacsign.VerifierOptions{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	owner := func(r *http.Request) (string, error) {
		owner, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
		if !ok || owner == "" {
			return "", errors.New("no owner")
		}
		return owner, nil
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := hmacsign.FromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("handler: owner %s, key %s, %d bytes\n", v.Owner, v.KeyID, len(body))
	})
	verified, err := hmacsign.Middleware(verifier, owner, nil)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(verified(handler))
	defer srv.Close()

	// The sending side.
	signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: clock})
	send := func(payload string, m hmacsign.Message) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/org_42", strings.NewReader(payload))
		if err != nil {
			log.Fatal(err)
		}
		signer.SetHeaders(req.Header, m)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode)
			return
		}
		problem, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(problem))
	}
	m, err := signer.Sign(context.Background(), "org_42", "msg_1", []byte(`{"type":"ping"}`))
	if err != nil {
		log.Fatal(err)
	}
	send(`{"type":"ping"}`, m)
	send(`{"type":"pong"}`, m)
	// Output:
	// handler: owner org_42, key key_1, 15 bytes
	// 200
	// 401 application/problem+json {"type":"about:blank","title":"Unauthorized","status":401,"detail":"webhook-signature matches no valid key","code":"no_matching_signature"}
}

func ExampleNewKey() {
	_, err := hmacsign.NewKey("key_1", secrets.NewValue("whsec_c2hvcnQgc2VjcmV0"), time.Time{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, hmacsign.ErrWeakKey))
	// Output:
	// hmacsign: key "key_1": webhook secret decodes to fewer than 16 bytes
	// true
}

// A Standard Webhooks secret as some senders' dashboards show it, without
// its whsec_ prefix: NewWebhookKey reads it as the Standard Webhooks
// libraries do, and verifies the specification's published example.
// NewKey would take the string's own bytes as the key, as it must for an
// API key.
func ExampleNewWebhookKey() {
	key, err := hmacsign.NewWebhookKey("key_1", secrets.NewValue("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	sent := time.Unix(1614265330, 0)
	v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: func() time.Time { return sent }})
	if err != nil {
		log.Fatal(err)
	}
	h := http.Header{}
	h.Set("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek") // Svix's spelling, or webhook-id
	h.Set("svix-timestamp", "1614265330")
	h.Set("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	keyID, err := v.VerifyRequest(context.Background(), "org_42", h, []byte(`{"test": 2432232314}`))
	fmt.Println(keyID, err)

	_, err = hmacsign.NewWebhookKey("key_2", secrets.NewValue("sk_live_not_base64"), time.Time{})
	fmt.Println(err)
	// Output:
	// key_1 <nil>
	// hmacsign: key "key_2": webhook secret is not base64
}

func ExampleVerifier_VerifyRequest() {
	// GitHub's published example: no timestamp, the secret string as key.
	key, err := hmacsign.NewKey("gh", secrets.NewValue("It's a Secret to Everybody"), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Scheme: hmacsign.GitHub})
	if err != nil {
		log.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	keyID, err := v.VerifyRequest(context.Background(), "my-repo", h, []byte("Hello, World!"))
	fmt.Println(keyID, err)
	// Output: gh <nil>
}

func ExampleNewVerifier_optionOutOfRange() {
	_, err := hmacsign.NewVerifier(hmacsign.StaticKeys{}, &hmacsign.VerifierOptions{Tolerance: -time.Minute})
	fmt.Println(err)
	if oe, ok := errors.AsType[*hmacsign.OptionError](err); ok {
		fmt.Println("field:", oe.Field)
	}
	// Output:
	// hmacsign: invalid option Tolerance: must not be negative
	// field: Tolerance
}

// Fixtures for a receiver's tests: the same message signed as if sent
// now and as if sent ten minutes ago, from one Signer.
func ExampleSigner_SignAt() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key, err := hmacsign.NewKey("key_1", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	keys := hmacsign.StaticKeys{key}
	signer := hmacsign.NewSigner(keys, nil) // SignAt does not read its clock
	payload := []byte(`{"type":"ping"}`)
	fresh, err := signer.SignAt(ctx, "org_42", "msg_1", payload, now)
	if err != nil {
		log.Fatal(err)
	}
	stale, err := signer.SignAt(ctx, "org_42", "msg_1", payload, now.Add(-10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fresh.Timestamp, stale.Timestamp)

	receiver, err := hmacsign.NewVerifier(keys, &hmacsign.VerifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	_, err = receiver.Verify(ctx, "org_42", fresh)
	fmt.Println(err)
	_, err = receiver.Verify(ctx, "org_42", stale)
	fmt.Println(errors.Is(err, hmacsign.ErrTimestampTooOld))
	// Output:
	// 1772366400 1772365800
	// <nil>
	// true
}

func ExampleSigner_SetHeaders() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key, err := hmacsign.NewKey("key_1", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	signer := hmacsign.NewSigner(hmacsign.StaticKeys{key}, &hmacsign.SignerOptions{Now: func() time.Time { return now }})
	payload := []byte(`{"type":"ping"}`)
	m, err := signer.Sign(context.Background(), "org_42", "msg_1", payload)
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "https://example.com/hooks", bytes.NewReader(payload))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	signer.SetHeaders(req.Header, m) // adds the signature headers, keeps the others
	for _, name := range []string{"Content-Type", "Webhook-Id", "Webhook-Timestamp"} {
		fmt.Println(name+":", req.Header.Get(name))
	}
	fmt.Println("Webhook-Signature entries:", len(strings.Fields(req.Header.Get("Webhook-Signature"))))
	// Output:
	// Content-Type: application/json
	// Webhook-Id: msg_1
	// Webhook-Timestamp: 1772366400
	// Webhook-Signature entries: 1
}
