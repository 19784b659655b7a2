package rotation_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// errNetwork stands for a connection lost while a save was in flight.
var errNetwork = errors.New("read tcp 192.0.2.1:5432: connection reset by peer")

// flakyStore fails the next Save once armed: it commits first, or not,
// and then returns an error, as a store does when the answer to a COMMIT
// is lost. It can fail the Loads that follow too.
type flakyStore struct {
	store.Store

	mu        sync.Mutex // guards the fields below
	saveErr   error      // returned by the next Save; nil: Save as usual
	commit    bool       // whether that Save commits before failing
	loadsFail bool       // whether Loads fail after that Save
	failing   bool       // Loads fail now
}

func (s *flakyStore) arm(err error, commit, loadsFail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveErr, s.commit, s.loadsFail = err, commit, loadsFail
}

func (s *flakyStore) Save(ctx context.Context, ks store.Keyset) error {
	s.mu.Lock()
	err, commit := s.saveErr, s.commit
	s.saveErr = nil
	if err != nil {
		s.failing = s.loadsFail
	}
	s.mu.Unlock()
	if err == nil {
		return s.Store.Save(ctx, ks)
	}
	if commit {
		if cerr := s.Store.Save(ctx, ks); cerr != nil {
			return cerr
		}
	}
	return &store.OpError{Op: "save", Owner: ks.Owner, Err: err}
}

func (s *flakyStore) Load(ctx context.Context, owner string) (store.Keyset, error) {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		return store.Keyset{}, &store.OpError{Op: "load", Owner: owner, Err: errNetwork}
	}
	return s.Store.Load(ctx, owner)
}

// lostAnswerOps are the changes a lost answer can befall: prepare sets the
// owner up and returns the change and a check that it holds.
var lostAnswerOps = []struct {
	name    string
	kind    rotation.EventKind
	prepare func(t *testing.T, f *fixture) (do func() error, holds func(t *testing.T))
}{
	{"Regenerate", rotation.EventRegenerated, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		s := f.create(t, "acme", rotation.Spec{})
		var res *rotation.Regenerated
		return func() (err error) {
				res, err = f.r.Regenerate(t.Context(), "acme", s.ID, 0)
				return err
			}, func(t *testing.T) {
				is := is.New(t)
				is.Equal(res.ID, s.ID)                                         // the result names the secret
				is.NoErr(f.auth(t, res.Value))                                 // its new value works
				is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and the old one is refused
			}
	}},
	{"RegenerateIf", rotation.EventRegenerated, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		s := f.create(t, "acme", rotation.Spec{})
		var res *rotation.Regenerated
		return func() (err error) {
				res, err = f.r.RegenerateIf(t.Context(), "acme", s.ID, s.Current.ID, 0)
				return err
			}, func(t *testing.T) {
				is := is.New(t)
				is.NoErr(f.auth(t, res.Value))                                 // the new value works
				is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and the old one is refused
			}
	}},
	{"Create", rotation.EventCreated, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		f.create(t, "acme", rotation.Spec{})
		var res *rotation.Issued
		return func() (err error) {
				res, err = f.r.Create(t.Context(), "acme", rotation.Spec{Name: "new"})
				return err
			}, func(t *testing.T) {
				is := is.New(t)
				is.NoErr(f.auth(t, res.Value)) // the value handed out works
				n := 0
				for _, s := range f.list(t, "acme") {
					if s.Name == "new" {
						n++
					}
				}
				is.Equal(n, 1)                      // and the secret exists once: no orphan
				is.Equal(len(f.list(t, "acme")), 2) // beside the one before
			}
	}},
	{"Revoke", rotation.EventRevoked, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		f.create(t, "acme", rotation.Spec{HMAC: true})
		s := f.create(t, "acme", rotation.Spec{})
		return func() error { return f.r.Revoke(t.Context(), "acme", s.ID) }, func(t *testing.T) {
			is := is.New(t)
			is.Equal(f.get(t, "acme", s.ID).Status, rotation.StatusRevoked) // the secret is revoked
			is.True(errors.Is(f.auth(t, s.Value), rotation.ErrRevoked))     // and refused
		}
	}},
	{"Delete", rotation.EventDeleted, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		f.create(t, "acme", rotation.Spec{HMAC: true})
		s := f.create(t, "acme", rotation.Spec{})
		return func() error { return f.r.Delete(t.Context(), "acme", s.ID) }, func(t *testing.T) {
			is := is.New(t)
			_, err := f.r.Get(t.Context(), "acme", s.ID)
			is.True(errors.Is(err, rotation.ErrNotFound))                  // the secret is gone
			is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and its value unknown
		}
	}},
	{"SetSigning", rotation.EventDesignated, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		f.create(t, "acme", rotation.Spec{HMAC: true})
		s := f.create(t, "acme", rotation.Spec{HMAC: true})
		return func() error { return f.r.SetSigning(t.Context(), "acme", s.ID) }, func(t *testing.T) {
			is := is.New(t)
			is.Equal(designated(f.list(t, "acme")), []string{s.ID}) // the designation moved
		}
	}},
	{"Update", rotation.EventUpdated, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		s := f.create(t, "acme", rotation.Spec{Name: "ci"})
		var got rotation.Secret
		return func() (err error) {
				got, err = f.r.Update(t.Context(), "acme", s.ID, func(a *rotation.Attributes) { a.Name = "renamed" })
				return err
			}, func(t *testing.T) {
				is := is.New(t)
				is.Equal(got.Name, "renamed")                    // the result shows the edit
				is.Equal(f.get(t, "acme", s.ID).Name, "renamed") // which is saved
			}
	}},
	{"DeleteOwner", rotation.EventOwnerDeleted, func(t *testing.T, f *fixture) (func() error, func(*testing.T)) {
		s := f.create(t, "acme", rotation.Spec{HMAC: true})
		return func() error { return f.r.DeleteOwner(t.Context(), "acme") }, func(t *testing.T) {
			is := is.New(t)
			is.Equal(len(f.list(t, "acme")), 0)                            // the owner has no secrets
			is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and its values are unknown
		}
	}},
}

// A save that commits and then fails, its answer lost, is a success: the
// Rotator reads back and finds the change. One that fails without
// committing is the error it was, and changes nothing.
func TestLostAnswers(t *testing.T) {
	modes := []struct {
		name      string
		err       error
		commit    bool
		loadsFail bool
		succeeds  bool
	}{
		{"committed, connection lost", errNetwork, true, false, true},
		{"committed, deadline", context.DeadlineExceeded, true, false, true},
		{"not committed, connection lost", errNetwork, false, false, false},
		{"not committed, deadline", context.DeadlineExceeded, false, false, false},
		{"committed, read-back fails too", errNetwork, true, true, false},
	}
	for _, op := range lostAnswerOps {
		for _, mode := range modes {
			t.Run(op.name+"/"+mode.name, func(t *testing.T) {
				is := is.New(t)
				mem := memstore.New()
				flaky := &flakyStore{Store: mem}
				f := newFixtureOver(t, flaky, nil)
				do, holds := op.prepare(t, f)
				before, err := mem.Load(t.Context(), "acme")
				is.NoErr(err)
				f.seen()

				flaky.arm(mode.err, mode.commit, mode.loadsFail)
				err = do()
				if mode.succeeds {
					is.NoErr(err) // a change that committed is reported as done
					var kinds []rotation.EventKind
					for _, e := range f.seen() {
						kinds = append(kinds, e.Kind)
					}
					is.Equal(kinds[0], op.kind) // and reported to the observer
					holds(t)
					return
				}
				is.True(errors.Is(err, mode.err)) // the store's error comes back as it was
				is.Equal(len(f.seen()), 0)        // nothing is reported
				if mode.commit {
					return // it did commit, but the Rotator could not know
				}
				after, err := mem.Load(t.Context(), "acme")
				is.NoErr(err)
				if d := diff(before, after); d != "" {
					t.Errorf("a failed save changed the keyset (-before +after):\n%s", d)
				}
			})
		}
	}
}

// conflictStore loses every compare-and-swap, as a store does under a
// storm of concurrent writers.
type conflictStore struct {
	store.Store
	saves int
}

func (s *conflictStore) Save(_ context.Context, ks store.Keyset) error {
	s.saves++
	return &store.OpError{Op: "save", Owner: ks.Owner, Err: store.ErrConflict}
}

// A change that loses the compare-and-swap on every attempt gives up
// after a bounded number of them with ErrConflict, and changes nothing.
func TestConflictGivesUp(t *testing.T) {
	is := is.New(t)
	mem := memstore.New()
	conflicts := &conflictStore{Store: mem}
	f := newFixtureOver(t, conflicts, nil)
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrConflict)) // gave up
	is.True(errors.Is(err, store.ErrConflict))    // saying why
	is.True(conflicts.saves > 1)                  // after retrying
	is.True(conflicts.saves <= 10)                // a bounded number of times
	is.Equal(len(f.seen()), 0)                    // nothing reported
	_, err = mem.Load(t.Context(), "acme")
	is.True(errors.Is(err, store.ErrNotFound)) // nothing saved
}
