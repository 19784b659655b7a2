package rotation_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// outcome is what one of many concurrent calls got.
type outcome struct {
	res *rotation.Regenerated
	err error
}

// all runs n calls of do at once, each from its own goroutine, and
// returns what each got.
func all(n int, do func(i int) (*rotation.Regenerated, error)) []outcome {
	out := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			<-start
			out[i].res, out[i].err = do(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// Many concurrent Regenerate calls of one secret take turns: each either
// succeeds or, after the bounded retries, gets ErrConflict; the winners
// form one chain, each replacing the value the one before handed out, so
// no update is lost; and the secret ends with one current value and at
// most MaxInGrace previous ones.
func TestConcurrentRegenerate(t *testing.T) {
	for _, grace := range []time.Duration{0, time.Minute} {
		t.Run(grace.String(), func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			f := newFixture(t, nil)
			other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
			is.NoErr(err)
			rotators := []*rotation.Rotator{f.r, other}
			s := f.create(t, "acme", rotation.Spec{HMAC: true})
			f.create(t, "acme", rotation.Spec{HMAC: true}) // another secret, untouched

			outcomes := all(32, func(i int) (*rotation.Regenerated, error) {
				return rotators[i%2].Regenerate(ctx, "acme", s.ID, grace)
			})

			var won []*rotation.Regenerated
			for _, o := range outcomes {
				switch {
				case o.err == nil:
					won = append(won, o.res)
				case errors.Is(o.err, rotation.ErrConflict):
					// gave up after the bounded retries: allowed, changes nothing
				default:
					t.Fatalf("a concurrent regenerate failed: %v", o.err)
				}
			}
			is.True(len(won) > 0) // at least one call won

			values := map[string]secrets.Value{s.Current.ID: s.Value}
			replaced := map[string]bool{}
			cut := map[string]bool{}
			for _, res := range won {
				is.Equal(res.ID, s.ID)         // every result is the same secret
				is.True(!replaced[res.Old.ID]) // no value was replaced twice: no lost update
				replaced[res.Old.ID] = true
				_, dup := values[res.Current.ID]
				is.True(!dup) // every winner handed out a value of its own
				values[res.Current.ID] = res.Value
				for _, c := range res.CutShort {
					is.Equal(c.SecretID, s.ID) // only this secret was in grace
					cut[c.Value.ID] = true
				}
			}
			for id := range replaced {
				_, ok := values[id]
				is.True(ok) // each replaced value was one handed out, or the first: one chain
			}
			is.Equal(len(replaced), len(won)) // every win replaced a value

			// The last winner may be either Rotator: read what the store
			// holds, through one that has cached nothing.
			reader := f.fresh(t)
			got, err := reader.Get(ctx, "acme", s.ID)
			is.NoErr(err)
			is.True(!replaced[got.Current.ID])                    // the current value is the one no winner replaced
			is.True(len(got.Previous) <= f.r.Policy().MaxInGrace) // the grace set stays bounded
			inGrace := map[string]bool{}
			for _, p := range got.Previous {
				is.True(replaced[p.ID]) // a previous value is one that was replaced
				inGrace[p.ID] = true
			}
			for id := range replaced {
				if grace == 0 {
					is.True(!inGrace[id]) // without grace no replaced value lives on
					continue
				}
				is.True(inGrace[id] != cut[id]) // with grace each replaced value is in grace or was cut, never both
			}
			for id, v := range values {
				_, err := reader.Authenticate(ctx, v.Reveal(), rotation.Request{})
				if id == got.Current.ID || inGrace[id] {
					is.NoErr(err) // the current value and those in grace work
					continue
				}
				is.True(errors.Is(err, rotation.ErrInvalidKey)) // every other is refused
			}
			keys, err := reader.VerifyingKeys(ctx, "acme")
			is.NoErr(err)
			is.Equal(len(keys), 2+len(got.Previous)) // and only those verify
			ks := f.keyset(t, "acme")
			is.Equal(ks.Version, int64(2+len(won))) // one version per win, none for the rest
		})
	}
}

// Of many concurrent RegenerateIf calls naming the same value, exactly
// one succeeds; the rest are told the value is stale and change nothing.
func TestConcurrentRegenerateIfStale(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
	is.NoErr(err)
	rotators := []*rotation.Rotator{f.r, other}
	s := f.create(t, "acme", rotation.Spec{HMAC: true})
	version := f.version(t, "acme")

	outcomes := all(32, func(i int) (*rotation.Regenerated, error) {
		return rotators[i%2].RegenerateIf(ctx, "acme", s.ID, s.Current.ID, time.Minute)
	})
	var won *rotation.Regenerated
	for _, o := range outcomes {
		if o.err == nil {
			is.True(won == nil) // exactly one call succeeds
			won = o.res
			continue
		}
		is.True(errors.Is(o.err, rotation.ErrStale)) // the others are told the value is stale
		var serr *rotation.SecretError
		is.True(errors.As(o.err, &serr))             // typed
		is.Equal(serr.Op, "regenerate")              // naming the operation
		is.Equal(serr.ID, s.ID)                      // and the secret
		is.Equal(serr.Status, rotation.StatusActive) // which is active
	}
	is.True(won != nil)                       // one did succeed
	is.Equal(f.version(t, "acme"), version+1) // and only it saved
	// Each Rotator either won or was told the value is stale after
	// reading the winner's change, so each shows it, heard of or not.
	for _, r := range rotators {
		got, err := r.Get(ctx, "acme", s.ID)
		is.NoErr(err)
		is.Equal(got.Current.ID, won.Current.ID)                 // its value is current
		is.Equal(valueIDs(got.Previous), []string{s.Current.ID}) // the named one is in grace
		for _, v := range []secrets.Value{won.Value, s.Value} {
			_, err := r.Authenticate(ctx, v.Reveal(), rotation.Request{})
			is.NoErr(err) // both work
		}
	}
}

// RegenerateIf without a race: a stale value changes nothing, an empty one
// is invalid.
func TestRegenerateIfStale(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	res, err := f.r.RegenerateIf(ctx, "acme", s.ID, s.Current.ID, 0)
	is.NoErr(err)          // the value named is current: it is replaced
	is.Equal(res.ID, s.ID) // in the same secret
	version := f.version(t, "acme")

	_, err = f.r.RegenerateIf(ctx, "acme", s.ID, s.Current.ID, 0)
	is.True(errors.Is(err, rotation.ErrStale)) // the old value id is stale
	is.Equal(f.version(t, "acme"), version)    // and nothing is saved
	is.NoErr(f.auth(t, res.Value))             // the value handed out still works

	_, err = f.r.RegenerateIf(ctx, "acme", s.ID, "", 0)
	var verr *rotation.ValidationError
	is.True(errors.As(err, &verr))  // an empty value id is invalid
	is.Equal(verr.Field, "valueID") // by name
	_, err = f.r.RegenerateIf(ctx, "acme", noSuchID, res.Current.ID, 0)
	is.True(errors.Is(err, rotation.ErrNotFound)) // and an unknown secret not found
}

// The limit holds however many processes create at once.
func TestConcurrentCreate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
	is.NoErr(err)
	rotators := []*rotation.Rotator{f.r, other}
	errs := make([]error, 16)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = rotators[i%2].Create(ctx, "acme", rotation.Spec{HMAC: true}) })
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		is.True(errors.Is(err, rotation.ErrLimitReached)) // the rest are refused by the limit
	}
	is.Equal(created, 3) // exactly MaxActive are created
	// Each Rotator was refused after reading the third creation, so each
	// lists what it was refused on, heard of or not.
	for _, r := range rotators {
		list, err := r.List(ctx, "acme")
		is.NoErr(err)
		is.Equal(len(list), 3)             // all three are listed
		is.Equal(len(designated(list)), 1) // with one designation
	}
}

// Update's edit may run again on a fresh read when changes race; none is
// lost.
func TestConcurrentUpdate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{Metadata: map[string]string{}})
	const n = 8
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.r.Update(ctx, "acme", s.ID, func(a *rotation.Attributes) {
				a.Metadata[fmt.Sprint("k", i)] = "v"
			})
		})
		wg.Go(func() {
			_, errs[n+i] = f.r.Regenerate(ctx, "acme", s.ID, 0)
		})
	}
	wg.Wait()
	got := f.get(t, "acme", s.ID)
	for i, err := range errs {
		if errors.Is(err, rotation.ErrConflict) {
			continue // gave up: allowed
		}
		is.NoErr(err) // every other call succeeded
		if i < n {
			is.Equal(got.Metadata[fmt.Sprint("k", i)], "v") // and no update was lost
		}
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
		for range 200 {
			if _, err := f.r.Regenerate(ctx, "acme", rotating.ID, time.Minute); err != nil {
				t.Errorf("regenerate: %v", err)
				return
			}
		}
	})
	checked := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		p, err := f.r.Authenticate(ctx, stable.Value.Reveal(), rotation.Request{})
		is.NoErr(err)                    // a key nobody rotates keeps working throughout
		is.Equal(p.Secret.ID, stable.ID) // as itself
		checked++
	}
	wg.Wait()
	is.True(checked > 0)
}

// Verifies through the Rotator keep succeeding while another goroutine
// rotates the same owner in a loop.
func TestVerifyDuringRotation(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	stable := f.create(t, "acme", rotation.Spec{HMAC: true})
	rotating := f.create(t, "acme", rotation.Spec{HMAC: true})
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err)
	msg := signWith(t, f, stable.ID, stable.Value)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range 200 {
			grace := time.Duration(i%2) * time.Minute
			if _, err := f.r.Regenerate(ctx, "acme", rotating.ID, grace); err != nil {
				t.Errorf("regenerate: %v", err)
				return
			}
		}
	})
	verified := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		_, err := v.Verify(ctx, "acme", msg)
		is.NoErr(err) // never an empty or half-built key set
		verified++
	}
	wg.Wait()
	is.True(verified > 0)
}
