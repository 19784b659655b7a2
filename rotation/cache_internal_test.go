package rotation

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/memstore"
)

// An invalidation of an owner that is not cached costs no memory, so
// that a replica hearing of every owner changed anywhere in the fleet
// does not grow with them.
func TestInvalidateUncachedAllocatesNothing(t *testing.T) {
	r, err := New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	owners := make([]string, 10_000)
	for i := range owners {
		owners[i] = fmt.Sprintf("owner_%d", i)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(owners), func() {
		r.invalidate(owners[i%len(owners)]) // as a notification or a poll does
		i++
	})
	if allocs != 0 {
		t.Errorf("an invalidation of an uncached owner allocates %v times; want 0", allocs)
	}
	if n := r.cache.len(); n != 0 {
		t.Errorf("%d owners cached after invalidations alone; want 0", n)
	}
}

// checkCache fails t unless the cache's owners and digest index agree
// exactly: every digest of a cached snapshot's values points at it, and
// the index holds nothing else.
func checkCache(t *testing.T, c *cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.owners) > c.max {
		t.Fatalf("%d owners cached; at most %d may be", len(c.owners), c.max)
	}
	digests := 0
	for owner, s := range c.owners {
		if s.owner() != owner {
			t.Fatalf("owners holds a snapshot of %s under %s", s.owner(), owner)
		}
		ks := s.keyset()
		for i := range ks.Keys {
			for v := range ks.Keys[i].Values() {
				digests++
				if c.digests.get(short(v.Digest)) != s {
					t.Fatalf("a digest of %s's key %s is not indexed to its snapshot", owner, ks.Keys[i].ID)
				}
			}
		}
	}
	if digests != c.digests.len() {
		t.Fatalf("the index holds %d digests; the cached snapshots %d", c.digests.len(), digests)
	}
}

// TestCacheStaysInStep runs random changes, reads, invalidations and
// evictions through two Rotators over one store, and checks after each
// that the cache of the first is in step with itself, and that what it
// authenticates agrees with the store within what it has heard.
func TestCacheStaysInStep(t *testing.T) {
	ctx := t.Context()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := memstore.New()
	opts := &Options{Now: clock.Now, Cache: CacheOptions{MaxOwners: 4, MaxAge: time.Hour}, Policy: Policy{MaxActive: 4}}
	r, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	owners := []string{"a", "b", "c", "d", "e", "f"}
	values := map[string]secrets.Value{} // the latest value handed out, by secret id
	ids := map[string][]string{}         // secret ids, by owner
	for step := range 3_000 {
		owner := owners[rng.IntN(len(owners))]
		by := r
		if rng.IntN(3) == 0 {
			by = other
		}
		switch op := rng.IntN(8); {
		case op == 0 || len(ids[owner]) == 0:
			iss, err := by.Create(ctx, owner, Spec{})
			if err == nil {
				ids[owner] = append(ids[owner], iss.ID)
				values[iss.ID] = iss.Value
			}
		case op == 1:
			id := ids[owner][rng.IntN(len(ids[owner]))]
			res, err := by.Regenerate(ctx, owner, id, time.Duration(rng.IntN(2))*time.Minute)
			if err == nil {
				values[id] = res.Value
			}
		case op == 2:
			i := rng.IntN(len(ids[owner]))
			if err := by.Delete(ctx, owner, ids[owner][i]); err == nil {
				delete(values, ids[owner][i])
				ids[owner] = slices.Delete(ids[owner], i, i+1)
			}
		case op == 3:
			r.invalidate(owner)
		case op == 4 && rng.IntN(10) == 0:
			r.invalidate("")
		case op == 5:
			if _, err := r.List(ctx, owner); err != nil {
				t.Fatal(err)
			}
		default:
			id := ids[owner][rng.IntN(len(ids[owner]))]
			// Whoever handed it out, the latest value works: from r's
			// cache, or from the store when r has not heard of it.
			if _, err := r.Authenticate(ctx, values[id].Reveal(), Request{}); err != nil {
				t.Fatalf("step %d: the latest value of %s of %s: %v", step, id, owner, err)
			}
		}
		clock.Advance(time.Second)
		checkCache(t, &r.cache)
	}
}
