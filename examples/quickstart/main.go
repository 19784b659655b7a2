// Command quickstart tells the regenerate-with-grace story on the in-memory
// store: create a secret, regenerate it with a 60 second grace window (it
// keeps its id; only its value changes), see both keys accepted, step the
// clock past the window, see the old key refused. The clock is stepped, so
// the program runs in an instant.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/memstore"
)

func main() {
	ctx := context.Background()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	say := func(format string, args ...any) {
		fmt.Printf("%s  %s\n", clock.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
	}
	check := func(name, key string) {
		_, err := r.Authenticate(ctx, key, rotation.Request{})
		var refused *rotation.AuthError
		switch {
		case err == nil:
			say("  %s key: accepted", name)
		case errors.As(err, &refused):
			say("  %s key: refused (%v)", name, refused.Err)
		default:
			log.Fatal(err)
		}
	}

	// list shows the owner's secrets: one entry per secret, whatever its
	// regenerations, with the old values still in their grace windows.
	list := func() {
		all, err := r.List(ctx, "integrator_7")
		if err != nil {
			log.Fatal(err)
		}
		for _, s := range all {
			say("  listed: %s %q …%s %s", s.ID, s.Name, s.Current.Hint, s.Status)
			for _, p := range s.Previous {
				say("    and its old value …%s, working until %s", p.Hint, p.ExpiresAt.Format(time.TimeOnly))
			}
		}
	}

	old, err := r.Create(ctx, "integrator_7", rotation.Spec{Name: "production"})
	if err != nil {
		log.Fatal(err)
	}
	// Shown this once, as the API it imitates does; rotor keeps only a digest.
	say("created %s: %s", old.ID, old.Value.Reveal())

	clock.Advance(10 * time.Minute)
	res, err := r.Regenerate(ctx, "integrator_7", old.ID, 60*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	say("regenerated %s with a 60s grace window: new key ends in …%s; old one (…%s) expires at %s",
		res.ID, res.Current.Hint, res.Old.Hint, res.Old.ExpiresAt.Format(time.TimeOnly))
	check("old", old.Value.Reveal())
	check("new", res.Value.Reveal())
	list()

	clock.Advance(59 * time.Second)
	say("one second left in the window")
	check("old", old.Value.Reveal())
	check("new", res.Value.Reveal())

	clock.Advance(time.Second)
	say("the window is over")
	check("old", old.Value.Reveal())
	check("new", res.Value.Reveal())

	list()
}
