package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
)

func testConcurrentSaves(t *testing.T, newStore func(t *testing.T) store.Store) {
	const (
		writers = 64
		// A correct store makes a writer lose at most once for each other
		// writer's success; the margin allows for stores whose
		// transactions sometimes report a conflict too many.
		maxAttempts = 10 * writers
		// The recorder records uses and looks up while the writers race,
		// a bounded number of rounds, so that a slow store (SQLite under
		// the race detector) is not kept busy by it long after the
		// writers would be done.
		maxRounds = 4 * writers
	)
	is := is.New(t)
	ctx := t.Context()
	s := newStore(t)
	save(t, s, keyset("acme", 0, key("seed")))
	initial := load(t, s, "acme").Version

	// One goroutine records uses of the seed and looks it up while the
	// writers race; lastUse is its latest use, read once it has stopped.
	done := make(chan struct{})
	var lastUse time.Time
	var recorder sync.WaitGroup
	recorder.Go(func() {
		for n := 1; n <= maxRounds; n++ {
			when := at(time.Duration(n) * time.Millisecond)
			err := s.RecordUses(ctx, []store.Use{
				{Owner: "acme", KeyID: "seed", ValueID: "seed.v0", At: when, IP: ipv4},
				{Owner: "acme", KeyID: "w00", ValueID: "w00.v0", At: when, IP: ipv6},
				{Owner: "acme", KeyID: "nobody", ValueID: "nobody.v0", At: when, IP: ipv6},
			})
			if err != nil {
				t.Errorf("record uses during saves: %v", err)
				return
			}
			lastUse = when
			m, err := s.Lookup(ctx, digest("seed"))
			if err != nil || m.Owner != "acme" || m.Key.ID != "seed" {
				t.Errorf("lookup during saves: %q, %q, %v; want acme, seed, nil", m.Owner, m.Key.ID, err)
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})

	var wg sync.WaitGroup
	for i := range writers {
		id := fmt.Sprintf("w%02d", i)
		wg.Go(func() {
			for range maxAttempts {
				ks, err := s.Load(ctx, "acme")
				if err != nil {
					t.Errorf("%s: load: %v", id, err)
					return
				}
				ks.Keys = append(ks.Keys, key(id))
				err = s.Save(ctx, ks)
				if err == nil {
					return
				}
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("%s: save: %v; want success or a conflict", id, err)
					return
				}
			}
			t.Errorf("%s: still in conflict after %d attempts", id, maxAttempts)
		})
	}
	wg.Wait()
	close(done)
	recorder.Wait()
	if t.Failed() {
		return
	}

	got := load(t, s, "acme")
	is.Equal(got.Version, initial+writers) // every save counted: no update was lost

	var ids []string
	for _, r := range got.Keys {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	want := []string{"seed"}
	for i := range writers {
		want = append(want, fmt.Sprintf("w%02d", i))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ids after concurrent saves (-want +got):\n%s", diff)
	}

	seed := got.Keys[got.Find("seed")]
	is.True(seed.LastUsedAt.Equal(lastUse))         // no save erased a use of a key recorded meanwhile
	is.Equal(seed.LastUsedIP, ipv4)                 // and its address
	is.True(seed.Current.LastUsedAt.Equal(lastUse)) // nor of a value
	for _, r := range got.Keys {
		is.Equal(lookup(t, s, r.Current.Digest).Key.ID, r.ID) // every key is found by its digest
	}
}
