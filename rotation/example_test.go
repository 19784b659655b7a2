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
	fmt.Println("name:", key.Name, "format:", key.Format, "status:", key.Status)
	fmt.Println("hint shown:", key.Current.Hint == key.Value.Hint())

	for range 2 {
		if _, err := r.Create(ctx, "org_42", rotation.Spec{}); err != nil {
			log.Fatal(err)
		}
	}
	_, err = r.Create(ctx, "org_42", rotation.Spec{})
	fmt.Println("fourth:", errors.Is(err, rotation.ErrLimitReached))
	// Output:
	// printed value: [REDACTED]
	// name: deploy bot format: sk_live status: active
	// hint shown: true
	// fourth: true
}

func ExampleRotator_Regenerate() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "integrator_7", rotation.Spec{Name: "integration"})
	if err != nil {
		log.Fatal(err)
	}

	// {"oldSecretValidForSeconds": 60}
	res, err := r.Regenerate(ctx, "integrator_7", key.ID, 60*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same id:", res.ID == key.ID)
	fmt.Println("oldSecretExpiresAt:", res.Old.ExpiresAt.Format(time.RFC3339))

	list, err := r.List(ctx, "integrator_7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("secrets listed:", len(list), "values in grace:", len(list[0].Previous))

	check := func() {
		_, errOld := r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{})
		_, errNew := r.Authenticate(ctx, res.Value.Reveal(), rotation.Request{})
		fmt.Printf("%s old ok: %v, new ok: %v\n", clock.Now().Format(time.TimeOnly), errOld == nil, errNew == nil)
	}
	check()
	clock.Advance(59 * time.Second)
	check()
	clock.Advance(time.Second)
	check()

	_, err = r.Regenerate(ctx, "integrator_7", key.ID, 3601*time.Second)
	fmt.Println(err)
	// Output:
	// same id: true
	// oldSecretExpiresAt: 2026-11-23T09:01:00Z
	// secrets listed: 1 values in grace: 1
	// 09:00:00 old ok: true, new ok: true
	// 09:00:59 old ok: true, new ok: true
	// 09:01:00 old ok: false, new ok: true
	// rotation: invalid grace: must be from 0s to 1h0m0s
}

// RegenerateIf names the value the caller saw, as an HTTP If-Match would:
// of two requests that saw the same value, the second is refused instead
// of replacing the value the first one handed out.
func ExampleRotator_RegenerateIf() {
	ctx := context.Background()
	r, err := rotation.New(memstore.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "account_1", rotation.Spec{})
	if err != nil {
		log.Fatal(err)
	}
	seen := key.Current.ID // the ETag a listing showed

	_, err = r.RegenerateIf(ctx, "account_1", key.ID, seen, 0)
	fmt.Println("first:", err)
	_, err = r.RegenerateIf(ctx, "account_1", key.ID, seen, 0)
	fmt.Println("second is stale:", errors.Is(err, rotation.ErrStale))
	// Output:
	// first: <nil>
	// second is stale: true
}

func ExampleRotator_Authenticate() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
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
	req := rotation.Request{IP: netip.MustParseAddr("203.0.113.9"), Scope: "api_tokens"}
	p, err := r.Authenticate(ctx, key.Value.Reveal(), req)
	fmt.Println(p.Owner, p.Secret.ID == key.ID, p.Previous, err)

	// After a regeneration with grace, the old value still works, as the
	// same secret, and says until when.
	if _, err := r.Regenerate(ctx, "org_42", key.ID, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	p, err = r.Authenticate(ctx, key.Value.Reveal(), req)
	fmt.Println(p.Owner, p.Secret.ID == key.ID, p.Previous, p.Presented.ExpiresAt.Format(time.Kitchen), err)

	_, err = r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("198.51.100.1")})
	fmt.Println(errors.Is(err, rotation.ErrNetworkNotAllowed))

	_, err = r.Authenticate(ctx, "sk_live_not-a-real-key", rotation.Request{})
	fmt.Println(errors.Is(err, rotation.ErrInvalidKey))
	// Output:
	// org_42 true false <nil>
	// org_42 true true 9:10AM <nil>
	// true
	// true
}

func ExampleRotator_Update() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "org_42", rotation.Spec{Name: "ci", Scopes: []string{"read"}})
	if err != nil {
		log.Fatal(err)
	}

	s, err := r.Update(ctx, "org_42", key.ID, func(a *rotation.Attributes) {
		a.Name = "ci (read-write)"
		a.Scopes = append(a.Scopes, "write")
		a.ExpiresAt = clock.Now().Add(30 * 24 * time.Hour)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name, s.Scopes, s.ExpiresAt.Format(time.DateOnly), s.ID == key.ID)

	_, err = r.Update(ctx, "org_42", key.ID, func(a *rotation.Attributes) { a.Format = "sk_test" })
	fmt.Println(err)
	// Output:
	// ci (read-write) [read write] 2026-12-23 true
	// rotation: invalid Format: cannot be changed
}

func ExampleRotator_List() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"primary", "backup"} {
		if _, err := r.Create(ctx, "customer_9", rotation.Spec{Name: name}); err != nil {
			log.Fatal(err)
		}
	}
	list, err := r.List(ctx, "customer_9")
	if err != nil {
		log.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := r.Regenerate(ctx, "customer_9", list[0].ID, time.Hour); err != nil {
		log.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := r.Regenerate(ctx, "customer_9", list[0].ID, 5*time.Minute); err != nil {
		log.Fatal(err)
	}

	list, err = r.List(ctx, "customer_9")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range list {
		fmt.Printf("%s: %s, created %s\n", s.Name, s.Status, s.CreatedAt.Format(time.TimeOnly))
		for _, v := range s.Previous {
			fmt.Printf("  previous value, created %s, works until %s\n", v.CreatedAt.Format(time.TimeOnly), v.ExpiresAt.Format(time.TimeOnly))
		}
	}
	// Output:
	// primary: active, created 09:00:00
	//   previous value, created 09:01:00, works until 09:07:00
	//   previous value, created 09:00:00, works until 10:01:00
	// backup: active, created 09:00:00
}

func ExampleRotator_ReportLeak() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "org_42", rotation.Spec{Name: "ci"})
	if err != nil {
		log.Fatal(err)
	}
	// The customer rotated, with an hour's grace, and then committed the
	// old key to a public repository; a scanner reports it.
	next, err := r.Regenerate(ctx, "org_42", key.ID, time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	seen := rotation.Leak{URL: "https://github.com/octo/app/blob/1a2b/.env", Source: "content"}
	leaked, err := r.ReportLeak(ctx, key.Value.Reveal(), seen, rotation.LeakRevoke)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("true positive:", leaked.Found, "previous value:", leaked.Previous, "done:", leaked.Action)
	_, err = r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{})
	fmt.Println("old key works:", err == nil)
	_, err = r.Authenticate(ctx, next.Value.Reveal(), rotation.Request{})
	fmt.Println("new key works:", err == nil)

	// A typo, or another provider's token, is a false positive, decided
	// without a lookup.
	other, err := r.ReportLeak(ctx, "ghp_notoneofours", seen, rotation.LeakRevoke)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("true positive:", other.Found)
	// Output:
	// true positive: true previous value: true done: grace ended
	// old key works: false
	// new key works: true
	// true positive: false
}

// A service e-mails its customers from the Observer; Run sweeps for what
// is due every minute, and a test steps the clock and sweeps itself.
func ExampleRotator_Sweep() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{
		Now: clock.Now,
		Observer: func(_ context.Context, e rotation.Event) {
			switch e.Kind {
			case rotation.EventExpiringSoon:
				fmt.Printf("to %s: %q expires in %v\n", e.Owner, e.Name, e.ExpiresAt.Sub(e.At))
			case rotation.EventGraceEndingSoon:
				fmt.Printf("to %s: the old value of %q stops at %s\n", e.Owner, e.Name, e.OldExpiresAt.Format(time.Kitchen))
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "org_42", rotation.Spec{Name: "deploy bot", ExpiresAt: clock.Now().AddDate(0, 0, 30)})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := r.Regenerate(ctx, "org_42", key.ID, time.Hour); err != nil {
		log.Fatal(err)
	}

	for _, step := range []time.Duration{50 * time.Minute, 16 * 24 * time.Hour, time.Hour} {
		clock.Advance(step)
		if err := r.Sweep(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// to org_42: the old value of "deploy bot" stops at 10:00AM
	// to org_42: "deploy bot" expires in 335h10m0s
}
