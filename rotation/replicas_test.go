package rotation_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// The tests in this file run replicas of a service as separate processes
// would: each has its own pool of connections and its own Rotator, with
// its own cache, and they share only the database.

// These tests talk to a real database, so they cannot run in a synctest
// bubble: a goroutine waiting on the network is never durably blocked.
// They wait instead for the exact event that makes the next step safe —
// Run's listening and its polls having ended, a notification of a given
// save having been handled — and each wait fails the test after
// brokenAfter: a bound on a broken test, not a wait for time to pass.
const brokenAfter = 30 * time.Second

// listening is a sqlstore.Store that tells the test what its Rotator's
// Run does with it: when Listen is ready and when it stops, what each
// poll returned, and which owners Listen reported. Each channel is
// buffered, and an event that finds it full is dropped rather than hold
// Run up.
type listening struct {
	*sqlstore.Store
	ready   chan struct{} // receives each time Listen is ready
	stopped chan error    // receives what each Listen returned
	polled  chan error    // receives what each Changes returned
	heard   chan string   // receives each owner Listen reported, once the Rotator has dropped it
}

func listenTo(st *sqlstore.Store) *listening {
	return &listening{
		Store:   st,
		ready:   make(chan struct{}, 64),
		stopped: make(chan error, 64),
		polled:  make(chan error, 64),
		heard:   make(chan string, 1024), // more than any test saves between two reads
	}
}

func send[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

func (l *listening) Changes(ctx context.Context, cursor string) ([]string, string, error) {
	owners, next, err := l.Store.Changes(ctx, cursor)
	send(l.polled, err)
	return owners, next, err
}

func (l *listening) Listen(ctx context.Context, ready func(), changed func(string)) error {
	err := l.Store.Listen(ctx,
		func() { ready(); send(l.ready, struct{}{}) },
		func(owner string) { changed(owner); send(l.heard, owner) })
	send(l.stopped, err)
	return err
}

// replica is one process's view of the shared database.
type replica struct {
	db *listening
	r  *rotation.Rotator
}

// shared is what replicas of one service have in common besides the
// database: the key-encryption key and, here, one clock.
type shared struct {
	ring  *secrets.Keyring
	clock *rotationtest.Clock
	db    *sqlstoretest.DB // the PostgreSQL schema, from postgresPair
	admin *sql.DB          // over db, to cut connections with; opened on first use
}

func newShared(t testing.TB) *shared {
	t.Helper()
	return &shared{ring: secretstest.Keyring(t), clock: rotationtest.NewClock(t0)}
}

// newReplica makes a replica over st whose cache serves keysets for an
// hour, so that only notifications and polls make changes seen: Run
// polls every hour, and listens again an hour after its notifications
// stop, so a test that cuts them sees what happens without them.
func (sh *shared) newReplica(t testing.TB, st *sqlstore.Store) *replica {
	t.Helper()
	l := listenTo(st)
	r, err := rotation.New(l, &rotation.Options{Now: sh.clock.Now, Keyring: sh.ring, Cache: rotation.CacheOptions{
		MaxAge:       time.Hour,
		PollInterval: time.Hour,
		ListenRetry:  time.Hour,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{db: l, r: r}
}

// run starts the replica's Run until the test ends, and waits until it
// listens and has made both the polls it makes on starting: one at once,
// and one once it listens. After that Run does nothing until a
// notification comes, or the hour of PollInterval or ListenRetry passes,
// so a test can save knowing it will be heard, and know that nothing but
// a notification or its own Poll drops a keyset.
func (rp *replica) run(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rp.r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.After(brokenAfter)
	select {
	case <-rp.db.ready:
	case err := <-rp.db.stopped:
		t.Fatalf("listen: %v", err)
	case <-deadline:
		t.Fatal("the replica did not start listening")
	}
	for range 2 {
		select {
		case err := <-rp.db.polled:
			if err != nil {
				t.Fatalf("poll: %v", err)
			}
		case <-deadline:
			t.Fatal("the replica did not make its first two polls")
		}
	}
}

// postgresPair returns replicas A and B over a fresh PostgreSQL schema,
// with B's Run running: B listens for A's saves and has polled.
func postgresPair(t *testing.T) (sh *shared, a, b *replica) {
	t.Helper()
	db := sqlstoretest.Postgres(t)
	sh = newShared(t)
	sh.db = db
	a = sh.newReplica(t, db.Open(t))
	b = sh.newReplica(t, db.Open(t))
	b.run(t)
	return sh, a, b
}

// hears waits until rp has heard of every save made through from so far.
// It saves one more owner through from and waits until rp's Listen has
// reported that owner and rp has dropped it. PostgreSQL delivers
// notifications in the order their transactions committed, and Listen
// reports them one at a time, so by then rp has dropped the owners of
// all the earlier saves too.
func (rp *replica) hears(t testing.TB, from *replica) {
	t.Helper()
	owner := "sync_" + rand.Text()
	if _, err := from.r.Create(context.Background(), owner, rotation.Spec{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(brokenAfter)
	for {
		select {
		case got := <-rp.db.heard:
			if got == owner {
				return
			}
		case err := <-rp.db.stopped:
			t.Fatalf("the replica stopped listening: %v", err)
		case <-deadline:
			t.Fatalf("the replica did not hear of the save of %q", owner)
		}
	}
}

// signer creates the owner's first secret on rp. The first is designated
// to sign webhooks and cannot be revoked, so tests that revoke make one
// first.
func (rp *replica) signer(t *testing.T, owner string) {
	t.Helper()
	if _, err := rp.r.Create(t.Context(), owner, rotation.Spec{Name: "signing", HMAC: true}); err != nil {
		t.Fatal(err)
	}
}

func (rp *replica) auth(t testing.TB, key secrets.Value) error {
	t.Helper()
	_, err := rp.r.Authenticate(context.Background(), key.Reveal(), rotation.Request{})
	return err
}

// TestReplicasSeeChanges: on PostgreSQL, with notifications, a key made
// on A works on B at once, and a revocation or a regeneration without
// grace on A stops the old key on B as soon as B hears of it.
func TestReplicasSeeChanges(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	_, a, b := postgresPair(t)
	a.signer(t, "acme")

	iss, err := a.r.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	is.NoErr(b.auth(t, iss.Value)) // a key created on A authenticates on B at once
	is.NoErr(b.auth(t, iss.Value)) // and again, from B's cache

	is.NoErr(a.r.Revoke(ctx, "acme", iss.ID))
	b.hears(t, a)                                                 // B hears of the change
	is.True(errors.Is(b.auth(t, iss.Value), rotation.ErrRevoked)) // and the revoked key stops there
	list, err := b.r.List(ctx, "acme")
	is.NoErr(err)
	is.Equal(list[1].Status, rotation.StatusRevoked) // and is listed so

	second, err := a.r.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	is.NoErr(b.auth(t, second.Value))
	reg, err := a.r.Regenerate(ctx, "acme", second.ID, 0)
	is.NoErr(err)
	is.NoErr(b.auth(t, reg.Value)) // the new key works on B at once
	b.hears(t, a)
	is.True(errors.Is(b.auth(t, second.Value), rotation.ErrInvalidKey)) // the old one stops on B with no grace
}

// TestReplicasVerifySignatures: B's verifier, whose keys come from B's
// Rotator, drops a webhook secret that A regenerated without grace.
func TestReplicasVerifySignatures(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	sh, a, b := postgresPair(t)
	signer := hmacsign.NewSigner(a.r, &hmacsign.SignerOptions{Now: sh.clock.Now})
	verifier, err := hmacsign.NewVerifier(b.r, &hmacsign.VerifierOptions{Now: sh.clock.Now})
	is.NoErr(err) // default options are in range

	iss, err := a.r.Create(ctx, "acme", rotation.Spec{Format: secrets.Webhook})
	is.NoErr(err)
	old, err := signer.Sign(ctx, "acme", "msg_1", []byte(`{"type":"ping"}`))
	is.NoErr(err)
	_, err = verifier.Verify(ctx, "acme", old)
	is.NoErr(err) // B verifies what A signed

	_, err = a.r.Regenerate(ctx, "acme", iss.ID, 0)
	is.NoErr(err)
	b.hears(t, a)
	_, err = verifier.Verify(ctx, "acme", old)
	is.True(errors.Is(err, hmacsign.ErrNoMatch)) // the old secret's signature is refused on B
	fresh, err := signer.Sign(ctx, "acme", "msg_2", []byte(`{"type":"ping"}`))
	is.NoErr(err)
	_, err = verifier.Verify(ctx, "acme", fresh)
	is.NoErr(err) // and the new secret's accepted
}

// cutListener terminates the PostgreSQL backend on which rp listens, and
// waits until rp's Listen reports it.
func (sh *shared) cutListener(t testing.TB, rp *replica) {
	t.Helper()
	if sh.admin == nil {
		sh.admin = sh.db.SQL(t)
	}
	var cut int
	err := sh.admin.QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND query ILIKE 'LISTEN %' AND query LIKE '%' || current_schema() || '%'`).Scan(&cut)
	if err != nil {
		t.Fatal(err)
	}
	if cut != 1 {
		t.Fatalf("cut %d listening connections; want the replica's one", cut)
	}
	select {
	case err := <-rp.db.stopped:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("Listen returned %v; want the failure of its connection", err)
		}
	case <-time.After(brokenAfter):
		t.Fatal("the replica's Listen did not notice its connection was cut")
	}
}

// TestReplicasCatchUpWithoutNotifications cuts B's notification
// connection; the next poll still makes A's revocation seen on B.
func TestReplicasCatchUpWithoutNotifications(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	sh, a, b := postgresPair(t)
	a.signer(t, "acme")
	iss, err := a.r.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	b.hears(t, a)                  // B has heard of the creations
	is.NoErr(b.auth(t, iss.Value)) // and caches acme's keyset as it is now

	sh.cutListener(t, b)
	is.Equal(len(b.db.polled), 0) // B's Run has not polled since starting, and will not for an hour

	is.NoErr(a.r.Revoke(ctx, "acme", iss.ID))
	is.NoErr(b.auth(t, iss.Value))                                // B has not heard: it still serves its keyset, within MaxAge
	is.NoErr(b.r.Poll(ctx))                                       // the poll that Run would make at the next PollInterval
	is.True(errors.Is(b.auth(t, iss.Value), rotation.ErrRevoked)) // catches the revocation up
}

// TestReplicasPollOnSQLite: two processes sharing a SQLite file have no
// notifications; a poll makes one see the other's revocation.
func TestReplicasPollOnSQLite(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.SQLite(t)
	sh := newShared(t)
	a := sh.newReplica(t, db.Open(t))
	b := sh.newReplica(t, db.Open(t))
	is.NoErr(b.r.Poll(ctx)) // B marks where its polls start

	a.signer(t, "acme")
	iss, err := a.r.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	is.NoErr(b.auth(t, iss.Value)) // a key made on A works on B at once
	is.NoErr(a.r.Revoke(ctx, "acme", iss.ID))
	is.NoErr(b.auth(t, iss.Value)) // before B polls, it serves its keyset
	is.NoErr(b.r.Poll(ctx))
	is.True(errors.Is(b.auth(t, iss.Value), rotation.ErrRevoked)) // after, the revocation holds on B
}

// TestReplicasRegenerateConcurrently: two replicas, each with 20
// goroutines, regenerate the owner's designated secret on the condition
// that its value is still the one they listed. Of the calls that name one
// value, exactly one wins; the others are refused with ErrStale (or give
// up with ErrConflict), and the owner's invariants hold afterwards.
func TestReplicasRegenerateConcurrently(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	sh := newShared(t)
	replicas := []*replica{
		sh.newReplica(t, db.Open(t)),
		sh.newReplica(t, db.Open(t)),
	}
	for _, rp := range replicas {
		rp.run(t)
	}
	var first *rotation.Issued
	for range 3 {
		iss, err := replicas[0].r.Create(ctx, "acme", rotation.Spec{HMAC: true})
		is.NoErr(err)
		if first == nil {
			first = iss
		}
	}

	type win struct {
		saw string // the value id the winner listed
		res *rotation.Regenerated
	}
	var (
		mu     sync.Mutex
		won    []win
		start  = make(chan struct{})
		wg     sync.WaitGroup
		failed = make(chan error, 40)
	)
	for i := range 40 {
		rp := replicas[i%2]
		wg.Go(func() {
			<-start
			list, err := rp.r.List(ctx, "acme")
			if err != nil {
				failed <- err
				return
			}
			j := slices.IndexFunc(list, func(s rotation.Secret) bool { return s.Signing })
			if j < 0 {
				failed <- errors.New("no designated secret listed")
				return
			}
			saw := list[j].Current.ID
			res, err := rp.r.RegenerateIf(ctx, "acme", list[j].ID, saw, time.Minute)
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, win{saw, res})
				mu.Unlock()
			case errors.Is(err, rotation.ErrStale), errors.Is(err, rotation.ErrConflict):
				// another call rotated that value first
			default:
				failed <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Errorf("a regenerate failed with an unexpected error: %v", err)
	}
	is.True(len(won) > 0) // at least one regeneration won

	// Read the truth from the database, past both caches.
	ks, err := db.Open(t).Load(ctx, "acme")
	is.NoErr(err)
	now := sh.clock.Now()
	var active, grace int
	for i := range ks.Keys {
		k := &ks.Keys[i]
		if k.ValidAt(now) {
			active++
		}
		for j := range k.Previous {
			if k.PreviousValidAt(j, now) {
				grace++
			}
		}
	}
	is.Equal(active, 3)            // the active count holds
	is.True(grace <= 3)            // and so does the grace bound
	is.Equal(ks.Signing, first.ID) // the designated secret is the same secret throughout
	replaced := map[string]bool{}
	for _, w := range won {
		is.Equal(w.res.ID, first.ID)     // a regeneration keeps the secret's id
		is.Equal(w.res.Old.ID, w.saw)    // and replaced the value its caller saw
		is.True(!replaced[w.res.Old.ID]) // no value was replaced twice: no lost update
		replaced[w.res.Old.ID] = true
	}
	current := ks.Keys[ks.Find(first.ID)].Current.ID
	is.True(!replaced[current])                                                                // the current value is one no winner replaced
	is.True(slices.ContainsFunc(won, func(w win) bool { return w.res.Current.ID == current })) // and a winner's
	is.Equal(ks.Version, int64(3+len(won)))                                                    // one save per creation and per winning regeneration
}

var _ store.ChangeLog = (*listening)(nil)
