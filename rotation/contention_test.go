package rotation_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// writers and callsEach shape the contention tests: eight writers on one
// owner's three secrets, as a busy integrator's scripts might be.
const writers, callsEach = 8, 25

// regenerateAll has each of writers goroutines regenerate the owner's
// secrets ids, in turn, callsEach times, through the Rotator of its
// number, and returns how many calls ended in ErrConflict. Any other
// failure fails t.
func regenerateAll(t *testing.T, rotators func(w int) *rotation.Rotator, ids []string) (conflicts int) {
	t.Helper()
	var lost atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range callsEach {
				_, err := rotators(w).Regenerate(t.Context(), "acme", ids[(w+i)%len(ids)], time.Minute)
				switch {
				case errors.Is(err, rotation.ErrConflict):
					lost.Add(1)
				case err != nil:
					t.Errorf("writer %d, call %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return int(lost.Load())
}

// createThree makes three secrets of acme through r and returns their
// ids.
func createThree(t *testing.T, r *rotation.Rotator) []string {
	t.Helper()
	ids := make([]string, 3)
	for i := range ids {
		iss, err := r.Create(t.Context(), "acme", rotation.Spec{HMAC: true})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = iss.ID
	}
	return ids
}

// Writers of one owner through one Rotator take turns rather than race:
// however many there are at once, none loses a compare-and-swap to
// another, so every call saves once and none waits to try again.
func TestWritersOfOneRotatorTakeTurns(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			is := is.New(t)
			var waits atomic.Int64
			f := newFixtureOver(t, b.open(t), func(o *rotation.Options) {
				o.Wait = func(context.Context, time.Duration) error {
					waits.Add(1)
					return nil
				}
			})
			ids := createThree(t, f.r)
			saves := f.store.saves.Load()

			conflicts := regenerateAll(t, func(int) *rotation.Rotator { return f.r }, ids)
			t.Logf("%d writers, one Rotator: %d of %d calls ended in ErrConflict", writers, conflicts, writers*callsEach)
			is.Equal(conflicts, 0)                                         // no call gave up
			is.Equal(f.store.saves.Load()-saves, int64(writers*callsEach)) // every call saved once: none lost a race
			is.Equal(waits.Load(), int64(0))                               // so none waited to try again
			is.Equal(f.version(t, "acme"), int64(3+writers*callsEach))     // and every one is a version
		})
	}
}

// Writers of one owner in several processes, each with a Rotator of its
// own over one store, do lose races to each other; a change that loses
// waits a random, growing time before it tries again, and so at most 1%
// of calls give up. The waits are the Rotators' own, with package time,
// inside a synctest bubble whose clock moves only when every writer
// waits. The stores are opened outside the bubble, which their
// connection pools outlive.
func TestWritersOfSeveralProcessesBackOff(t *testing.T) {
	stores := map[string]func(t *testing.T) []store.Store{
		"memstore": func(*testing.T) []store.Store {
			st := memstore.New() // one store, as processes share a database
			return []store.Store{st}
		},
		"sqlite": func(t *testing.T) []store.Store {
			db := sqlstoretest.SQLite(t)
			var out []store.Store
			for range writers {
				out = append(out, db.Open(t)) // a pool of its own, as in a process of its own
			}
			return out
		},
		"postgres": func(t *testing.T) []store.Store {
			db := sqlstoretest.Postgres(t)
			var out []store.Store
			for range writers {
				out = append(out, db.Open(t))
			}
			return out
		},
	}
	for _, name := range []string{"memstore", "sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			sts := stores[name](t)
			ring := secretstest.Keyring(t)
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				rotators := make([]*rotation.Rotator, writers)
				for w := range rotators {
					var err error
					rotators[w], err = rotation.New(sts[w%len(sts)], &rotation.Options{Keyring: ring})
					is.NoErr(err)
				}
				ids := createThree(t, rotators[0])
				start := time.Now()

				conflicts := regenerateAll(t, func(w int) *rotation.Rotator { return rotators[w] }, ids)
				t.Logf("%d writers, a Rotator each: %d of %d calls ended in ErrConflict (%.1f%%), after %v of backing off",
					writers, conflicts, writers*callsEach, 100*float64(conflicts)/(writers*callsEach), time.Since(start))
				is.True(conflicts*100 <= writers*callsEach) // at most 1% give up
			})
		})
	}
}

// losingStore loses as many compare-and-swaps as lose says.
type losingStore struct {
	store.Store
	lose atomic.Int64
}

func (s *losingStore) Save(ctx context.Context, ks store.Keyset) error {
	if s.lose.Add(-1) >= 0 {
		return &store.OpError{Op: "save", Owner: ks.Owner, Err: store.ErrConflict}
	}
	return s.Store.Save(ctx, ks)
}

// A change that lost waits before each new attempt: a random time, never
// nothing, up to a bound that doubles with each loss from 2 milliseconds
// to 128, so that ten attempts wait half a second at most.
func TestBackoffIsBoundedAndJittered(t *testing.T) {
	is := is.New(t)
	flaky := &losingStore{Store: memstore.New()}
	var waits []time.Duration
	f := newFixtureOver(t, flaky, func(o *rotation.Options) {
		o.Wait = func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}
	})
	bounds := []time.Duration{2, 4, 8, 16, 32, 64, 128, 128, 128}
	distinct := map[time.Duration]bool{}
	for range 20 {
		waits = waits[:0]
		flaky.lose.Store(9)
		_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
		is.NoErr(err)                     // the tenth attempt wins
		is.Equal(len(waits), len(bounds)) // after a wait before each of the nine others
		var total time.Duration
		for i, d := range waits {
			is.True(d > 0)                           // never none
			is.True(d <= bounds[i]*time.Millisecond) // within the bound of its attempt
			total += d
			distinct[d] = true
		}
		is.True(total <= 510*time.Millisecond) // half a second in all, at most
		is.NoErr(f.r.DeleteOwner(t.Context(), "acme"))
	}
	is.True(len(distinct) > 20*len(bounds)/2) // waits are random, not a fixed schedule

	flaky.lose.Store(10)
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrConflict)) // ten losses give up

	ctx, cancel := context.WithCancel(t.Context())
	f = newFixtureOver(t, flaky, func(o *rotation.Options) {
		o.Wait = func(context.Context, time.Duration) error {
			cancel() // the caller goes away while the change waits
			return ctx.Err()
		}
	})
	flaky.lose.Store(5)
	_, err = f.r.Create(ctx, "acme", rotation.Spec{})
	is.True(errors.Is(err, context.Canceled)) // the change stops with the context's error
	is.Equal(flaky.lose.Load(), int64(4))     // without another attempt
}

// holdingStore holds the loads of one owner until released.
type holdingStore struct {
	store.Store
	owner   string
	held    chan struct{} // receives once per held load
	release chan struct{}
}

func (s *holdingStore) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if owner == s.owner {
		s.held <- struct{}{}
		<-s.release
	}
	return s.Store.Load(ctx, owner)
}

// A change waits for the change of its owner before it, heeding its
// context, and never for the changes of other owners.
func TestTurnsAreEachOwners(t *testing.T) {
	is := is.New(t)
	st := &holdingStore{Store: memstore.New(), owner: "acme", held: make(chan struct{}), release: make(chan struct{})}
	f := newFixtureOver(t, st, nil)
	first := make(chan error, 1)
	go func() {
		_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
		first <- err
	}()
	<-st.held // acme's first change is under way, and held

	f.create(t, "globex", rotation.Spec{}) // another owner's change does not wait for it

	ctx, cancel := context.WithCancel(t.Context())
	second := make(chan error, 1)
	go func() {
		_, err := f.r.Create(ctx, "acme", rotation.Spec{})
		second <- err
	}()
	cancel()
	is.True(errors.Is(<-second, context.Canceled)) // a change waiting for its turn stops with its context
	third := make(chan error, 1)
	go func() {
		_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
		third <- err
	}()
	close(st.release)
	is.NoErr(<-first) // the held change finishes
	<-st.held         // and only then does the next one load
	is.NoErr(<-third)
	ks, err := st.Store.Load(t.Context(), "acme")
	is.NoErr(err)
	is.Equal(len(ks.Keys), 2) // both saved; the cancelled one not
}
