// Command portal serves the "API secrets" tab of a customer portal, the
// screen of seed 002_a0983816f6c871cf, as a web page: a customer signs
// in, sees their API secrets (at most 3) with their creation and last
// usage dates, creates one and sees its value this once, chooses which
// one signs webhooks, removes the others after typing a phrase, and looks
// at a signed test webhook.
//
//	export ROTOR_KEK=$(openssl rand -base64 32)   # or -kek ./portal.kek, kept outside -data
//	go run ./examples/portal -data ./portal-data -create-owner acme   # prints owner=… and login=/login/…
//	go run ./examples/portal -data ./portal-data [-addr 127.0.0.1:8080]
//
// then open http://127.0.0.1:8080 followed by the login path.
//
// # Signing in
//
// A portal signs its customers in its own way; this one has one-time
// sign-in links, so that the example needs no passwords. -create-owner
// NAME prints one for the customer NAME, good for an hour and for one
// visit; running it again replaces a link not yet used. A link is a rotor
// key of its own (format signin_portal, owner "NAME/sign-in"), so it is
// kept as a digest and never in plaintext, and the visit that uses it
// deletes it: of two visits with one link, one signs in.
//
// The visit sets a session cookie, HttpOnly, SameSite=Strict, and Secure
// when the page is served over TLS, and goes on to the tab. Sessions last
// eight hours and live in the server's memory: a restart signs everybody
// out. Without a session every page says how to sign in and shows nothing
// else.
//
// # What the page guarantees
//
//   - A secret's value is shown once, on the page that follows its
//     creation, which is sent with Cache-Control: no-store (every page
//     is); it is in no URL, cookie or log, and a reload no longer has it.
//   - The first secret created signs webhooks; "Use with webhooks" moves
//     that after a confirmation. The secret that signs has no Remove
//     button, and the server refuses to remove it anyway. Removing asks
//     for a phrase shown on the page; a wrong one removes nothing.
//   - With 3 secrets, creating is disabled, and the server refuses anyway.
//   - Every change is a POST that carries the session's token, on top of
//     the SameSite cookie and Go's cross-origin protection; errors are
//     messages on the page.
//   - The page works without scripts: its one script, served by the
//     portal itself like its styles, adds the copy button and makes the
//     confirmations modal.
//
// Secrets are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set, sealed under the key-encryption key of
// ROTOR_KEK or -kek FILE, since they sign webhooks. Logs go to stderr and
// never hold a secret.
package main

import (
	"context"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// app is the service: its routes, its -create-owner, and sealed secrets,
// since a customer's secrets sign the webhooks sent to them.
var app = service.App{
	Name: "portal",
	Seal: true,
	Options: func(o *rotation.Options) {
		o.Policy.MaxActive = 3 // the seed's "up to 3 API secrets"
	},
	Handler:     newHandler,
	CreateOwner: createOwner,
}

const (
	// signInFormat is the format of sign-in links' keys, which no API
	// secret has.
	signInFormat secrets.Format = "signin_portal"
	// signInScope is the one scope of a sign-in key.
	signInScope = "portal:sign-in"
	// signInSuffix makes the owner of a customer's sign-in keys: a name
	// that no customer's can be, since customers' names hold no '/'.
	signInSuffix = "/sign-in"
	// signInTTL is how long a sign-in link may wait for its one use.
	signInTTL = time.Hour
)

// createOwner, the command -create-owner runs, returns the customer name
// and a sign-in path for them, this once. The customer's secrets are
// created in the portal, so a customer who exists already only gets a new
// link.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	if err := service.CheckName("a customer's", name); err != nil {
		return nil, err
	}
	owner := name + signInSuffix
	// A new link replaces any earlier one still unused.
	if err := env.Rotator.DeleteOwner(ctx, owner); err != nil {
		return nil, err
	}
	link, err := env.Rotator.Create(ctx, owner, rotation.Spec{
		Name:      "sign-in link",
		Format:    signInFormat,
		Scopes:    []string{signInScope},
		ExpiresAt: env.Now().Add(signInTTL),
	})
	if err != nil {
		return nil, err
	}
	return []string{"owner=" + name, "login=/login/" + link.Value.Reveal()}, nil
}

func main() { service.Main(app) }
