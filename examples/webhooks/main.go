// Command webhooks shows a webhook secret rotated while messages flow.
//
// A sender signs every webhook for its customer with the customer's
// designated secret. It regenerates that secret with a 60 second grace
// window while sending; during the window each message carries two
// signatures, so the customer's receiver, still configured with the old
// secret only, keeps verifying. After the window only a receiver updated to
// the new secret verifies. Sender and receiver talk over loopback HTTP; the
// clock is stepped, so the program runs in an instant.
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/memstore"
)

const customer = "cus_1001"

func main() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	say := func(format string, args ...any) {
		fmt.Printf("%s  %s\n", clock.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
	}

	// The provider: a Rotator that seals webhook secrets, and a Signer
	// that asks it for the customer's signing keys.
	kek, err := secrets.GenerateKEK("kek-2026-11")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		log.Fatal(err)
	}
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now, Keyring: ring})
	if err != nil {
		log.Fatal(err)
	}
	signer := hmacsign.NewSigner(r, &hmacsign.SignerOptions{Now: clock.Now})

	first, err := r.Create(ctx, customer, rotation.Spec{Name: "webhooks", Format: secrets.Webhook})
	if err != nil {
		log.Fatal(err)
	}
	say("provider created the customer's webhook secret %s (…%s)", first.ID, first.Current.Hint)

	// The customer: a receiver configured with the secret it was shown.
	oldOnly := newReceiver("receiver with the old secret", first.Value, clock)
	defer oldOnly.Close()

	send := func(to *receiver, event string) {
		payload := []byte(`{"type":"` + event + `"}`)
		msg, err := signer.Sign(ctx, customer, hmacsign.NewMessageID(), payload)
		if err != nil {
			log.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.URL, bytes.NewReader(payload))
		if err != nil {
			log.Fatal(err)
		}
		signer.SetHeaders(req.Header, msg)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		say("  %s → %s: %s (%d signature(s) sent)", event, to.name, resp.Status, countEntries(msg.Signature))
	}

	send(oldOnly, "invoice.paid")

	clock.Advance(5 * time.Minute)
	res, err := r.Regenerate(ctx, customer, first.ID, 60*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	say("provider regenerated the secret with a 60s grace window: new …%s, old one valid until %s",
		res.Current.Hint, res.Old.ExpiresAt.Format(time.TimeOnly))
	send(oldOnly, "invoice.created")

	clock.Advance(59 * time.Second)
	say("one second left in the window")
	send(oldOnly, "invoice.updated")

	clock.Advance(time.Second)
	say("the window is over")
	send(oldOnly, "invoice.voided")

	updated := newReceiver("receiver with the new secret", res.Value, clock)
	defer updated.Close()
	send(updated, "invoice.voided")
}

// receiver is the customer's endpoint: hmacsign's middleware over a
// verifier that knows one secret.
type receiver struct {
	*httptest.Server
	name string
}

func newReceiver(name string, secret secrets.Value, clock *rotationtest.Clock) *receiver {
	key, err := hmacsign.NewKey("configured", secret, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	owner := func(*http.Request) (string, error) { return customer, nil }
	verified, err := hmacsign.Middleware(v, owner, nil)
	if err != nil {
		log.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return &receiver{Server: httptest.NewServer(verified(ok)), name: name}
}

// countEntries counts the space-separated signatures of a header.
func countEntries(sig string) int { return len(strings.Fields(sig)) }
