package rotation

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/memstore"
)

// liveHeap returns the bytes of the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCacheMemory churns a cache of the default 10,000 owners: each
// round hears that 10,000 owners it has never seen changed, as a replica
// hears of every owner saved anywhere in the fleet, and reads 1,000
// owners that are not cached, each evicting another. It reports the live
// heap (the store's 100,000 owners included) once the cache is full and
// after the rounds, and what a cached owner costs: with -benchtime=100x,
// 1,000,000 invalidations and 100,000 loads. Both stay flat: an
// invalidation of an uncached owner costs nothing, and loads beyond
// MaxOwners evict.
//
//	go test -run '^$' -bench CacheMemory -benchtime 100x ./rotation/
func BenchmarkCacheMemory(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := memstore.New()
	const owners = 100_000
	writer, err := New(st, &Options{Now: clock.Now, Cache: CacheOptions{MaxOwners: 1}})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, owners)
	for i := range names {
		names[i] = "owner_" + strconv.Itoa(i)
		if _, err := writer.Create(ctx, names[i], Spec{}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := New(st, &Options{Now: clock.Now, Cache: CacheOptions{MaxAge: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	empty := liveHeap() // the store's 100,000 owners, and nothing cached
	for _, name := range names[:DefaultMaxOwners] {
		if _, err := r.List(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
	before := liveHeap()
	invalidated, loaded := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		for range 10_000 {
			r.invalidate("elsewhere_" + strconv.Itoa(invalidated)) // never cached, never seen again
			invalidated++
		}
		for range 1_000 {
			if _, err := r.List(ctx, names[DefaultMaxOwners+loaded%(owners-DefaultMaxOwners)]); err != nil {
				b.Fatal(err)
			}
			loaded++
		}
	}
	after := liveHeap()
	b.ReportMetric(float64(before-empty)/DefaultMaxOwners, "B/cached-owner")
	b.ReportMetric(float64(before)/(1<<20), "MiB-before")
	b.ReportMetric(float64(after)/(1<<20), "MiB-after")
	b.ReportMetric(float64(invalidated), "invalidations")
	b.ReportMetric(float64(loaded), "loads")
	b.ReportMetric(float64(r.cache.len()), "owners-cached")
}
