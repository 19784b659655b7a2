package rotation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

const day = 24 * time.Hour

// dueCounting is a countingStore that is a store.DueLister, as the store
// underneath is.
type dueCounting struct {
	*countingStore
	dl store.DueLister
}

func (d dueCounting) Due(ctx context.Context, before time.Time, limit int) ([]string, error) {
	return d.dl.Due(ctx, before, limit)
}

// ownersCounting is a countingStore that is a store.OwnerLister, as the
// store underneath is.
type ownersCounting struct {
	*countingStore
	ol store.OwnerLister
}

func (o ownersCounting) Owners(ctx context.Context, after string, limit int) ([]string, error) {
	return o.ol.Owners(ctx, after, limit)
}

// listing returns c as a store that lists owners as st does: through
// Due when st is a DueLister, else through Owners. A countingStore alone
// lists none, so that the fixtures of other tests, whose Wait returns at
// once, do not sweep without end.
func listing(c *countingStore, st store.Store) store.Store {
	if dl, ok := st.(store.DueLister); ok {
		return dueCounting{c, dl}
	}
	if ol, ok := st.(store.OwnerLister); ok {
		return ownersCounting{c, ol}
	}
	return c
}

// newSweepFixture is newFixtureOver st, with a Rotator that can sweep st.
func newSweepFixture(t *testing.T, st store.Store, edit func(*rotation.Options)) *fixture {
	t.Helper()
	var opts *rotation.Options
	f := newFixtureOver(t, st, func(o *rotation.Options) {
		if edit != nil {
			edit(o)
		}
		opts = o
	})
	var err error
	if f.r, err = rotation.New(listing(f.store, st), opts); err != nil {
		t.Fatal(err)
	}
	return f
}

// onEachBackend runs check as a subtest on each backend, with a fixture
// that can sweep it.
func onEachBackend(t *testing.T, edit func(*rotation.Options), check func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { check(t, newSweepFixture(t, b.open(t), edit)) })
	}
}

// sweep sweeps, fails the test if that fails, and returns the events
// it sent.
func (f *fixture) sweep(t *testing.T) []rotation.Event {
	t.Helper()
	if err := f.r.Sweep(t.Context()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return f.seen()
}

func TestExpiryReminders(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		exp := t0.Add(30 * day)
		s := f.create(t, "acme", rotation.Spec{Name: "deploys", ExpiresAt: exp})
		f.seen()
		is.Equal(len(f.sweep(t)), 0) // nothing is due 30 days ahead

		for _, step := range []struct {
			at   time.Time
			lead time.Duration
		}{
			{exp.Add(-14 * day), 14 * day},
			{exp.Add(-7 * day), 7 * day},
			{exp.Add(-day), day},
		} {
			f.clock.Set(step.at.Add(-time.Microsecond))
			is.Equal(len(f.sweep(t)), 0) // not a moment early
			f.clock.Set(step.at)
			got := f.sweep(t)
			want := []rotation.Event{{
				Kind: rotation.EventExpiringSoon, Owner: "acme", SecretID: s.ID, Hint: s.Current.Hint,
				At: step.at, Name: "deploys", ExpiresAt: exp, Lead: step.lead,
			}}
			if d := diff(want, got); d != "" {
				t.Errorf("reminder %v before (-want +got):\n%s", step.lead, d)
			}
			v := f.version(t, "acme")
			is.Equal(len(f.sweep(t)), 0)      // sent once
			is.Equal(f.version(t, "acme"), v) // and a sweep with nothing due saves nothing
		}

		f.clock.Set(exp)
		want := []rotation.Event{{
			Kind: rotation.EventExpired, Owner: "acme", SecretID: s.ID, Hint: s.Current.Hint,
			At: exp, Name: "deploys", ExpiresAt: exp,
		}}
		if d := diff(want, f.sweep(t)); d != "" {
			t.Errorf("expiry (-want +got):\n%s", d)
		}
		f.clock.Advance(30 * day)
		is.Equal(len(f.sweep(t)), 0)                // expired once
		is.True(f.keyset(t, "acme").DueAt.IsZero()) // and nothing is due any more
	})
}

func TestExpiryRemindersMissedAndRearmed(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		exp := t0.Add(30 * day)
		s := f.create(t, "acme", rotation.Spec{ExpiresAt: exp})
		f.seen()
		f.clock.Set(exp.Add(-12 * time.Hour)) // 14 and 7 days before went by unswept
		got := f.sweep(t)
		is.Equal(kinds(got), []rotation.EventKind{rotation.EventExpiringSoon}) // one reminder, not three
		is.Equal(got[0].Lead, day)                                             // of the lead reached last

		later := exp.Add(30 * day)
		_, err := f.r.Update(t.Context(), "acme", s.ID, func(a *rotation.Attributes) { a.ExpiresAt = later })
		is.NoErr(err)
		is.Equal(kinds(f.seen()), []rotation.EventKind{rotation.EventUpdated}) // no reminder of a lead the new expiry is not within
		f.clock.Set(later.Add(-14 * day))
		got = f.sweep(t)
		is.Equal(kinds(got), []rotation.EventKind{rotation.EventExpiringSoon}) // the new expiry is reminded afresh
		is.True(got[0].ExpiresAt.Equal(later))
		is.Equal(got[0].Lead, 14*day)
	})
}

func TestExpiryRemindersSkipLeadsPassedAtCreation(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(3 * day)})
		is.Equal(kinds(f.seen()), []rotation.EventKind{rotation.EventCreated}) // not told at once of what its creator chose
		is.Equal(len(f.sweep(t)), 0)
		f.clock.Set(t0.Add(2 * day))
		got := f.sweep(t)
		is.Equal(kinds(got), []rotation.EventKind{rotation.EventExpiringSoon}) // the leads still ahead at creation go
		is.Equal(got[0].Lead, day)
	})
}

func TestRemindersGoWithAnyChange(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		exp := t0.Add(30 * day)
		a := f.create(t, "acme", rotation.Spec{ExpiresAt: exp})
		f.seen()
		f.clock.Set(exp.Add(-10 * day))
		b := f.create(t, "acme", rotation.Spec{}) // no sweep: the save carries what is due
		got := f.seen()
		is.Equal(kinds(got), []rotation.EventKind{rotation.EventCreated, rotation.EventExpiringSoon}) // the change's own event first
		is.Equal(got[0].SecretID, b.ID)
		is.Equal(got[1].SecretID, a.ID)
		is.Equal(len(f.sweep(t)), 0) // and the sweep finds it sent
	})
}

func TestRevokedSecretsAreNotReminded(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		exp := t0.Add(30 * day)
		s := f.create(t, "acme", rotation.Spec{ExpiresAt: exp})
		f.regenerate(t, "acme", s.ID, time.Hour)
		is.NoErr(f.r.Revoke(t.Context(), "acme", s.ID))
		is.Equal(kinds(f.seen()), []rotation.EventKind{rotation.EventCreated, rotation.EventRegenerated, rotation.EventRevoked}) // no grace ended: the value died with its secret
		for _, at := range []time.Time{t0.Add(time.Hour), exp.Add(-day), exp} {
			f.clock.Set(at)
			is.Equal(len(f.sweep(t)), 0) // a revoked secret is told of no more
		}
	})
}

func TestGraceNotices(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
		lead  time.Duration
		use   time.Duration // after the regeneration when the old value is used; 0: never
		atEnd bool
	}{
		{"used at the end", time.Hour, 10 * time.Minute, 55 * time.Minute, true},
		{"used before the end", time.Hour, 10 * time.Minute, 49 * time.Minute, false},
		{"never used", time.Hour, 10 * time.Minute, 0, false},
		{"short window", 15 * time.Minute, 7*time.Minute + 30*time.Second, 8 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onEachBackend(t, nil, func(t *testing.T, f *fixture) {
				is := is.New(t)
				s := f.create(t, "acme", rotation.Spec{Name: "hooks"})
				res := f.regenerate(t, "acme", s.ID, tt.grace)
				f.seen()
				end := t0.Add(tt.grace)
				if tt.use != 0 && tt.use < tt.grace-tt.lead {
					f.clock.Set(t0.Add(tt.use))
					is.NoErr(f.auth(t, s.Value)) // the old value still works
				}
				f.clock.Set(end.Add(-tt.lead - time.Microsecond))
				is.Equal(len(f.sweep(t)), 0) // not a moment early

				f.clock.Set(end.Add(-tt.lead))
				soon := rotation.Event{
					Kind: rotation.EventGraceEndingSoon, Owner: "acme", SecretID: s.ID, Hint: res.Current.Hint,
					At: end.Add(-tt.lead), Name: "hooks", OldHint: s.Current.Hint, OldExpiresAt: end,
				}
				if tt.use != 0 && tt.use < tt.grace-tt.lead {
					soon.LastUsedAt = t0.Add(tt.use)
				}
				if d := diff([]rotation.Event{soon}, f.sweep(t)); d != "" {
					t.Errorf("grace ending soon (-want +got):\n%s", d)
				}
				is.Equal(len(f.sweep(t)), 0) // sent once

				if tt.use >= tt.grace-tt.lead {
					f.clock.Set(t0.Add(tt.use))
					is.NoErr(f.auth(t, s.Value))
				}
				f.clock.Set(end.Add(-time.Microsecond))
				is.Equal(len(f.sweep(t)), 0)
				f.clock.Set(end)
				ended := soon
				ended.Kind, ended.At, ended.UsedAtEnd = rotation.EventGraceEnded, end, tt.atEnd
				if tt.use != 0 {
					ended.LastUsedAt = t0.Add(tt.use)
				}
				if d := diff([]rotation.Event{ended}, f.sweep(t)); d != "" {
					t.Errorf("grace ended (-want +got):\n%s", d)
				}
				is.Equal(len(f.sweep(t)), 0)                      // sent once
				is.Equal(len(f.get(t, "acme", s.ID).Previous), 0) // and the value is gone
			})
		})
	}
}

func TestExpiryRemindersOff(t *testing.T) {
	onEachBackend(t, func(o *rotation.Options) { o.Reminders.ExpiryLeads = []time.Duration{} }, func(t *testing.T, f *fixture) {
		is := is.New(t)
		exp := t0.Add(30 * day)
		f.create(t, "acme", rotation.Spec{ExpiresAt: exp})
		f.seen()
		f.clock.Set(exp.Add(-time.Hour))
		is.Equal(len(f.sweep(t)), 0) // no reminders
		f.clock.Set(exp)
		is.Equal(kinds(f.sweep(t)), []rotation.EventKind{rotation.EventExpired}) // but the expiry is told
	})
}

// TestSweepReadsOnlyDueOwners: over a DueLister, a sweep reads the due
// owners' keysets and no others.
func TestSweepReadsOnlyDueOwners(t *testing.T) {
	for _, b := range backends[1:] { // the SQL stores are DueListers
		t.Run(b.name, func(t *testing.T) {
			is := is.New(t)
			f := newSweepFixture(t, b.open(t), nil)
			for i := range 40 {
				spec := rotation.Spec{}
				if i%10 == 0 {
					spec.ExpiresAt = t0.Add(20 * day)
				}
				f.create(t, "owner-"+string(rune('a'+i%26))+string(rune('a'+i/26)), spec)
			}
			f.seen()
			f.clock.Set(t0.Add(6*day + time.Second))
			loads := f.store.loads.Load()
			is.Equal(len(f.sweep(t)), 4)                   // the four due owners are reminded
			is.Equal(f.store.loads.Load()-loads, int64(4)) // and only their keysets are read
		})
	}
}

// TestTwoRotatorsRemindOnce runs two Rotators' Run over one store, and
// sweeps both at each step at once: each event goes once, from one or
// the other.
func TestTwoRotatorsRemindOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testTwoRotatorsRemindOnce(t, b.open(t)) })
	}
}

// sweeper is one Rotator of TestTwoRotatorsRemindOnce, whose Wait
// between sweeps parks until the test releases it.
type sweeper struct {
	r      *rotation.Rotator
	parked chan struct{} // a value each time Run waits for the next sweep
	next   chan struct{} // the test sends to start the next sweep
}

func testTwoRotatorsRemindOnce(t *testing.T, st store.Store) {
	is := is.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	const sweepEvery = time.Hour // no other wait is this long
	clock := newFixture(t, nil).clock
	var mu sync.Mutex
	sent := map[string]int{} // how often each event was sent, by both
	var events []rotation.Event
	var sweepers []*sweeper
	for range 2 {
		sw := &sweeper{parked: make(chan struct{}), next: make(chan struct{})}
		r, err := rotation.New(st, &rotation.Options{
			Now:         clock.Now,
			UseInterval: -1, // uses go as they come, with no Wait
			Reminders:   rotation.Reminders{SweepInterval: sweepEvery},
			Wait: func(ctx context.Context, d time.Duration) error {
				if d != sweepEvery {
					return ctx.Err() // a backoff after a lost race: try again at once
				}
				select {
				case sw.parked <- struct{}{}:
				case <-ctx.Done():
					return ctx.Err()
				}
				select {
				case <-sw.next:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
			Observer: func(_ context.Context, e rotation.Event) {
				mu.Lock()
				defer mu.Unlock()
				key := e.Kind.String() + " " + e.SecretID + " " + e.OldHint + " " + e.Lead.String()
				sent[key]++
				events = append(events, e)
			},
		})
		is.NoErr(err)
		sw.r = r
		sweepers = append(sweepers, sw)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, sw := range sweepers {
		wg.Go(func() { _ = sw.r.Run(ctx) })
	}
	parked := func() {
		for _, sw := range sweepers {
			select {
			case <-sw.parked: // its sweep is over
			case <-t.Context().Done():
				t.Fatal("a sweep did not end")
			}
		}
	}
	parked() // the sweeps at start

	// Three owners, each with a secret that expires and one whose old
	// value is in grace, made through the first Rotator.
	r := sweepers[0].r
	for _, owner := range []string{"acme", "globex", "initech"} {
		_, err := r.Create(ctx, owner, rotation.Spec{ExpiresAt: t0.Add(15 * day)})
		is.NoErr(err)
		s, err := r.Create(ctx, owner, rotation.Spec{})
		is.NoErr(err)
		_, err = r.Regenerate(ctx, owner, s.ID, time.Hour)
		is.NoErr(err)
	}
	mu.Lock()
	clear(sent)
	events = nil
	mu.Unlock()

	for _, d := range []time.Duration{
		50 * time.Minute, time.Hour, // grace ending soon, grace ended
		day + time.Minute, 8 * day, 14 * day, 15 * day, 16 * day, // 14, 7 and 1 day before, expired, nothing
	} {
		clock.Set(t0.Add(d))
		for _, sw := range sweepers {
			sw.next <- struct{}{} // both sweep at once
		}
		parked()
	}
	mu.Lock()
	defer mu.Unlock()
	for key, n := range sent {
		if n != 1 {
			t.Errorf("%s sent %d times, want once", key, n)
		}
	}
	// Per owner: one ending soon, one ended, three reminders, one expiry.
	is.Equal(len(sent), 3*6) // every event was sent
	is.Equal(len(events), 3*6)
}

func TestSweepWithoutLister(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil) // its countingStore lists nothing
	err := f.r.Sweep(t.Context())
	is.True(errors.Is(err, rotation.ErrNoSweep))   // the store cannot be swept
	is.True(errors.Is(err, errors.ErrUnsupported)) // which is unsupported, not a failure
}

func TestSweepStopsWithContext(t *testing.T) {
	is := is.New(t)
	f := newSweepFixture(t, memstore.New(), nil)
	f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(2 * day)})
	f.clock.Set(t0.Add(day + time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	is.True(errors.Is(f.r.Sweep(ctx), context.Canceled)) // a done context stops the sweep
	f.seen()
	is.Equal(len(f.sweep(t)), 1) // and what it did not send is sent by the next
}

// TestReminderLeadsAreCopied: the leads are the Rotator's from New on,
// in any order, each once.
func TestReminderLeadsAreCopied(t *testing.T) {
	leads := []time.Duration{day, 3 * day, day}
	f := newSweepFixture(t, memstore.New(), func(o *rotation.Options) { o.Reminders.ExpiryLeads = leads })
	leads[0], leads[1] = 5*day, 6*day // changes nothing the Rotator holds
	is := is.New(t)
	f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(10 * day)})
	f.seen()
	var got []time.Duration
	for _, at := range []time.Duration{4 * day, 5 * day, 7 * day, 9 * day, 10*day - time.Second} {
		f.clock.Set(t0.Add(at))
		for _, e := range f.sweep(t) {
			got = append(got, e.Lead)
		}
	}
	is.Equal(got, []time.Duration{3 * day, day}) // 3 days and 1 day before, once each
}
