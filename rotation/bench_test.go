package rotation_test

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// BenchmarkAuthenticate authenticates keys spread over 10,000 owners:
// parse and checksum, digest, lookup, checks, and noting the use. The
// stores are memstore and sqlstore on SQLite, both with every owner in
// the Rotator's cache (warmed up); and sqlstore on SQLite with a cache of
// one owner (evicted-sqlite), so that every call looks the key up and
// reads its owner: two indexed queries.
func BenchmarkAuthenticate(b *testing.B) {
	for _, bs := range []struct {
		name      string
		store     func(b *testing.B) store.Store
		maxOwners int
	}{
		{"memstore", func(*testing.B) store.Store { return memstore.New() }, 0},
		{"sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }, 0},
		{"evicted-sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }, 1},
	} {
		b.Run(bs.name, func(b *testing.B) {
			ctx := b.Context()
			clock := rotationtest.NewClock(t0)
			r, err := rotation.New(bs.store(b), &rotation.Options{Now: clock.Now,
				Cache: rotation.CacheOptions{MaxAge: time.Hour, MaxOwners: bs.maxOwners}})
			if err != nil {
				b.Fatal(err)
			}
			const owners = 10_000
			keys := make([]string, owners)
			for i := range keys {
				iss, err := r.Create(ctx, fmt.Sprintf("owner_%d", i), rotation.Spec{Scopes: []string{"read"}})
				if err != nil {
					b.Fatal(err)
				}
				keys[i] = iss.Value.Reveal()
			}
			req := rotation.Request{IP: netip.MustParseAddr("192.0.2.1"), Scope: "read"}
			for _, k := range keys { // warm the cache, where there is one
				if _, err := r.Authenticate(ctx, k, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Authenticate(ctx, keys[i%owners], req); err != nil {
					b.Fatal(err)
				}
				i += 7919 // a prime stride, so successive calls touch different owners
			}
		})
	}
}

// BenchmarkRegenerate regenerates an owner's secrets with a grace window,
// over and over: load, the policy's checks, a new value sealed and
// digested, a cut of the window that ends soonest, and the
// compare-and-swap save. The owner holds three active secrets and three
// values in grace, as a busy one would.
func BenchmarkRegenerate(b *testing.B) {
	for _, bs := range []struct {
		name  string
		store func(b *testing.B) store.Store
	}{
		{"memstore", func(*testing.B) store.Store { return memstore.New() }},
		{"sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }},
		{"postgres", func(b *testing.B) store.Store { return sqlstoretest.Postgres(b).Open(b) }},
	} {
		b.Run(bs.name, func(b *testing.B) {
			ctx := b.Context()
			clock := rotationtest.NewClock(t0)
			r, err := rotation.New(bs.store(b), &rotation.Options{Now: clock.Now, Keyring: secretstest.Keyring(b)})
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, 3)
			for i := range ids {
				iss, err := r.Create(ctx, "acme", rotation.Spec{HMAC: true})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = iss.ID
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Regenerate(ctx, "acme", ids[i%3], time.Minute); err != nil {
					b.Fatal(err)
				}
				i++
				clock.Advance(time.Second)
			}
		})
	}
}

// BenchmarkVerifyRotator verifies a 1 KiB webhook against an owner's keys
// taken from the Rotator's snapshot, the path hmacsign's middleware takes
// when the Rotator is its key source.
func BenchmarkVerifyRotator(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now, Keyring: secretstest.Keyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Create(ctx, "acme", rotation.Spec{Format: secrets.Webhook}); err != nil {
		b.Fatal(err)
	}
	msg, err := hmacsign.NewSigner(r, &hmacsign.SignerOptions{Now: clock.Now}).Sign(ctx, "acme", "msg_1", make([]byte, 1024))
	if err != nil {
		b.Fatal(err)
	}
	v, err := hmacsign.NewVerifier(r, &hmacsign.VerifierOptions{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "acme", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateParallel is BenchmarkAuthenticate/memstore from
// every CPU at once, the case the cache's one lock must bear: every call
// takes it to find its key, and the use it notes takes the lock of the
// batch of uses. Compare its ns/op with the sequential one's divided by
// GOMAXPROCS.
func BenchmarkAuthenticateParallel(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	const owners = 10_000
	keys := make([]string, owners)
	for i := range keys {
		iss, err := r.Create(ctx, fmt.Sprintf("owner_%d", i), rotation.Spec{Scopes: []string{"read"}})
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = iss.Value.Reveal()
	}
	req := rotation.Request{IP: netip.MustParseAddr("192.0.2.1"), Scope: "read"}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 1_000 // each goroutine from its own place
		for pb.Next() {
			if _, err := r.Authenticate(ctx, keys[i%owners], req); err != nil {
				b.Error(err)
				return
			}
			i += 7919
		}
	})
}

// BenchmarkAuthenticateMillion authenticates keys of 1,000,000 owners,
// every one cached (MaxOwners raised to hold them), beside its floor in
// the same run: parsing the key and checking its checksum, its SHA-256
// digest, and a lookup in a map of a million digests. It reports the
// live heap the cache holds per key, its index and list included and
// the store's copies and the batch of uses not.
//
//	go test -run '^$' -bench AuthenticateMillion -benchtime 2s ./rotation/
func BenchmarkAuthenticateMillion(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	const n = 1_000_000
	st := memstore.New()
	writer, err := rotation.New(st, &rotation.Options{Now: clock.Now, Cache: rotation.CacheOptions{MaxOwners: 1}})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, n)
	digests := make(map[secrets.Digest]int32, n)
	digester := secrets.NewDigester(secrets.Value{})
	for i := range keys {
		iss, err := writer.Create(ctx, fmt.Sprintf("owner_%d", i), rotation.Spec{Scopes: []string{"read"}})
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = iss.Value.Reveal()
		digests[digester.Digest(keys[i])] = int32(i)
	}
	r, err := rotation.New(st, &rotation.Options{Now: clock.Now, Cache: rotation.CacheOptions{MaxOwners: n, MaxAge: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	req := rotation.Request{IP: netip.MustParseAddr("192.0.2.1"), Scope: "read"}
	empty := liveHeap()
	for i := range keys { // each owner read into the cache
		if _, err := r.List(ctx, fmt.Sprintf("owner_%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	perKey := float64(liveHeap()-empty) / n
	// Every key used once already in this UseInterval, as a hot key is:
	// the batch of uses holds the values of the first
	// DefaultMaxPendingUses, and noting another use of one finds it
	// there rather than growing the batch to a million; the uses of the
	// rest are dropped, as they are when nothing writes them.
	for _, k := range keys {
		if _, err := r.Authenticate(ctx, k, req); err != nil {
			b.Fatal(err)
		}
	}

	floor := func(k string) {
		if _, err := secrets.ParseKey(k); err != nil {
			b.Fatal(err)
		}
		if _, ok := digests[digester.Digest(k)]; !ok {
			b.Fatal("a key of the million is not in the map")
		}
	}
	auth := func(k string) {
		if _, err := r.Authenticate(ctx, k, req); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("rotator", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			auth(keys[i%n])
			i += 7919
		}
		b.ReportMetric(perKey, "B/cached-key")
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			floor(keys[i%n])
			i += 7919
		}
	})
	// The machine may be busy with other work, which skews two runs
	// apart: this one takes turns, 64 calls of each at a time, so that
	// both meet the same load, and reports their ratio. Each turn takes
	// keys of its own, half the million apart: a floor given the keys
	// the Rotator had just read found them in the processor's caches.
	b.Run("ratio", func(b *testing.B) {
		var rotator, bare time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			for j := range 64 {
				auth(keys[(i+j*7919)%n])
			}
			mid := time.Now()
			for j := range 64 {
				floor(keys[(i+n/2+j*7919)%n])
			}
			rotator, bare = rotator+mid.Sub(start), bare+time.Since(mid)
			i += 64 * 7919
		}
		b.ReportMetric(float64(rotator)/float64(bare), "x-floor")
		b.ReportMetric(float64(rotator.Nanoseconds())/float64(64*b.N), "rotator-ns")
		b.ReportMetric(float64(bare.Nanoseconds())/float64(64*b.N), "floor-ns")
	})
}

// liveHeap returns the bytes of the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkReplicaRevocation measures how long a revocation on replica A
// takes to stop the key on replica B, two Rotators over one PostgreSQL
// database with B's Run running, from Revoke's return to B's first
// refusal, which B checks each time its Run hears of a change or polls.
// It reports the median and the 99th percentile:
//
//   - notified: B listens, with the default options;
//
//   - listener-cut: B's listening connection is terminated
//     (pg_terminate_backend) before each revocation, as a restarted
//     proxy or an idle timeout would, so B catches up when it listens
//     again. ListenRetry is a millisecond so that each cut counts as the
//     first for a while, as a single cut does with the default second;
//
//   - polls-only: B's notifications are cut once and not resumed
//     (ListenRetry an hour), so polls every PollInterval (the default
//     2 s) bound what it sees: run it with -benchtime 20x.
//
//     go test -run '^$' -bench ReplicaRevocation -benchtime 20x ./rotation/
func BenchmarkReplicaRevocation(b *testing.B) {
	for _, bc := range []struct {
		name        string
		listenRetry time.Duration
		cutEach     bool // cut B's listening connection before each revocation
		cutOnce     bool // cut it once, before the first
	}{
		{"notified", 0, false, false},
		{"listener-cut", time.Millisecond, true, false},
		{"polls-only", time.Hour, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			db := sqlstoretest.Postgres(b)
			sh := newShared(b) // a clock that stands still: only Run makes B see changes
			sh.db = db
			a := sh.newReplica(b, db.Open(b))
			l := listenTo(db.Open(b))
			br, err := rotation.New(l, &rotation.Options{Now: sh.clock.Now, Keyring: sh.ring, Cache: rotation.CacheOptions{ListenRetry: bc.listenRetry}})
			if err != nil {
				b.Fatal(err)
			}
			rb := &replica{db: l, r: br}
			rb.run(b)
			if bc.cutOnce {
				sh.cutListener(b, rb)
			}
			var took []time.Duration
			for b.Loop() {
				iss, err := a.r.Create(ctx, "acme", rotation.Spec{})
				if err != nil {
					b.Fatal(err)
				}
				if err := rb.auth(b, iss.Value); err != nil { // B looks the new key up, and caches its owner
					b.Fatal(err)
				}
				if bc.cutEach {
					sh.cutListener(b, rb)
				}
				for _, c := range []chan string{l.heard} {
					for len(c) > 0 {
						<-c
					}
				}
				for len(l.polled) > 0 {
					<-l.polled
				}
				for len(l.ready) > 0 {
					<-l.ready
				}
				if err := a.r.Revoke(ctx, "acme", iss.ID); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				deadline := time.After(brokenAfter)
				for !errors.Is(rb.auth(b, iss.Value), rotation.ErrRevoked) {
					select { // until B hears of a change, polls, or listens again
					case <-l.heard:
					case <-l.polled:
					case <-l.ready:
					case <-deadline:
						b.Fatal("B did not see the revocation")
					}
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(took[(len(took)*99-1)/100])/1e6, "p99-ms")
		})
	}
}
