package rotation_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

// Fifty goroutines at once each regenerate whichever secret of one owner is
// designated when they look. Each either succeeds or gets a typed error,
// and afterwards the owner's invariants hold and no update was lost.
func TestConcurrentRegenerate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	for range 3 {
		f.create(t, "acme", rotation.Spec{HMAC: true})
	}

	type outcome struct {
		res *rotation.Regenerated
		err error
	}
	outcomes := make([]outcome, 50)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Go(func() {
			<-start
			list, err := f.r.List(ctx, "acme")
			if err != nil {
				outcomes[i].err = err
				return
			}
			j := slices.IndexFunc(list, func(s rotation.Secret) bool { return s.Signing })
			if j < 0 {
				outcomes[i].err = errors.New("no designated secret listed")
				return
			}
			outcomes[i].res, outcomes[i].err = f.r.Regenerate(ctx, "acme", list[j].ID, time.Minute)
		})
	}
	close(start)
	wg.Wait()

	var handed []*rotation.Regenerated
	cut := map[string]bool{}
	for _, o := range outcomes {
		var refused *rotation.SecretError
		switch {
		case o.err == nil:
			handed = append(handed, o.res)
			for _, id := range o.res.CutShort {
				cut[id] = true
			}
		case errors.As(o.err, &refused), errors.Is(o.err, rotation.ErrConflict):
			// Someone else rotated that secret first, and it may since have
			// ended and been dropped: a typed refusal either way.
		default:
			t.Fatalf("a regenerate failed with an untyped error: %v", o.err)
		}
	}
	is.True(len(handed) > 0) // at least one goroutine won

	byStatus, designated := f.count(t, "acme")
	is.Equal(byStatus[rotation.StatusActive], 3) // the active count holds
	is.True(byStatus[rotation.StatusGrace] <= 3) // and so does the grace bound
	is.Equal(designated, 1)                      // exactly one designated active secret

	// Every value handed out still authenticates, or a later result said
	// its secret was cut short.
	for _, res := range handed {
		err := f.auth(t, res.Value)
		if cut[res.ID] {
			is.True(errors.Is(err, rotation.ErrInvalidKey)) // a cut secret is refused (expired, or dropped from the list)
			continue
		}
		is.NoErr(err) // every other handed-out value works
	}
	// The winners form one chain: each replaced the one before.
	replaced := map[string]bool{}
	for _, res := range handed {
		is.True(!replaced[res.OldID]) // no secret was replaced twice: no lost update
		replaced[res.OldID] = true
	}
}

// Authenticating while another goroutine rotates the same owner in a loop
// never sees a half-made change.
func TestAuthenticateDuringRotation(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	stable := f.create(t, "acme", rotation.Spec{})
	rotating := f.create(t, "acme", rotation.Spec{})

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		id := rotating.ID
		for range 200 {
			res, err := f.r.Regenerate(ctx, "acme", id, time.Minute)
			if err != nil {
				t.Errorf("regenerate: %v", err)
				return
			}
			id = res.ID
		}
	})
	var checked int
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		_, err := f.r.Authenticate(ctx, stable.Value.Reveal(), rotation.Request{})
		is.NoErr(err) // a key nobody rotates keeps working throughout
		checked++
	}
	wg.Wait()
	is.True(checked > 0)
}
