package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/memstore"
)

func ExampleRotator_Create() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}

	key, err := r.Create(ctx, "org_42", rotation.Spec{Name: "deploy bot", Scopes: []string{"deploys:write"}})
	if err != nil {
		log.Fatal(err)
	}
	// Hand key.Value.Reveal() to the customer now: it is not kept.
	fmt.Println("printed value:", key.Value)
	fmt.Println("format:", key.Format, "status:", key.Status, "signs webhooks:", key.Signing)

	for range 2 {
		if _, err := r.Create(ctx, "org_42", rotation.Spec{}); err != nil {
			log.Fatal(err)
		}
	}
	_, err = r.Create(ctx, "org_42", rotation.Spec{})
	fmt.Println("fourth:", errors.Is(err, rotation.ErrLimitReached))
	// Output:
	// printed value: [REDACTED]
	// format: sk_live status: active signs webhooks: true
	// fourth: true
}

func ExampleRotator_Regenerate() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	old, err := r.Create(ctx, "integrator_7", rotation.Spec{})
	if err != nil {
		log.Fatal(err)
	}

	// {"oldSecretValidForSeconds": 60}
	res, err := r.Regenerate(ctx, "integrator_7", old.ID, 60*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("oldSecretExpiresAt:", res.OldExpiresAt.Format(time.RFC3339))

	check := func() {
		_, errOld := r.Authenticate(ctx, old.Value.Reveal(), rotation.Request{})
		_, errNew := r.Authenticate(ctx, res.Value.Reveal(), rotation.Request{})
		fmt.Printf("%s old ok: %v, new ok: %v\n", clock.Now().Format(time.TimeOnly), errOld == nil, errNew == nil)
	}
	check()
	clock.Advance(59 * time.Second)
	check()
	clock.Advance(time.Second)
	check()

	_, err = r.Regenerate(ctx, "integrator_7", res.ID, 3601*time.Second)
	fmt.Println(err)
	// Output:
	// oldSecretExpiresAt: 2026-11-23T09:01:00Z
	// 09:00:00 old ok: true, new ok: true
	// 09:00:59 old ok: true, new ok: true
	// 09:01:00 old ok: false, new ok: true
	// rotation: invalid grace: must be from 0s to 1h0m0s, got 1h0m1s
}

func ExampleRotator_Authenticate() {
	ctx := context.Background()
	r, err := rotation.New(memstore.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "org_42", rotation.Spec{
		Scopes:   []string{"api_tokens"},
		Networks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
	})
	if err != nil {
		log.Fatal(err)
	}

	// In a handler: the bearer token, the client address, the route's scope.
	p, err := r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{
		IP:    netip.MustParseAddr("203.0.113.9"),
		Scope: "api_tokens",
	})
	fmt.Println(p.Owner, err)

	_, err = r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("198.51.100.1")})
	fmt.Println(errors.Is(err, rotation.ErrNetworkNotAllowed))

	_, err = r.Authenticate(ctx, "sk_live_not-a-real-key", rotation.Request{})
	fmt.Println(errors.Is(err, rotation.ErrInvalidKey))
	// Output:
	// org_42 <nil>
	// true
	// true
}
