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
	)
	is := is.New(t)
	ctx := t.Context()
	s := newStore(t)
	save(t, s, keyset("acme", 0, record("seed")))
	initial := load(t, s, "acme").Version

	// One goroutine records uses of the seed and looks it up while the
	// writers race; lastUse is its latest use, read once it has stopped.
	done := make(chan struct{})
	var lastUse time.Time
	var recorder sync.WaitGroup
	recorder.Go(func() {
		for n := 1; ; n++ {
			when := at(time.Duration(n) * time.Millisecond)
			err := s.RecordUses(ctx, []store.Use{
				{Owner: "acme", SecretID: "seed", At: when, IP: ipv4},
				{Owner: "acme", SecretID: "w00", At: when, IP: ipv6},
				{Owner: "acme", SecretID: "nobody", At: when, IP: ipv6},
			})
			if err != nil {
				t.Errorf("record uses during saves: %v", err)
				return
			}
			lastUse = when
			owner, rec, err := s.Lookup(ctx, digest("seed"))
			if err != nil || owner != "acme" || rec.ID != "seed" {
				t.Errorf("lookup during saves: %q, %q, %v; want acme, seed, nil", owner, rec.ID, err)
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
				ks.Secrets = append(ks.Secrets, record(id))
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
	for _, r := range got.Secrets {
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

	seed := got.Secrets[got.Find("seed")]
	is.True(seed.LastUsedAt.Equal(lastUse)) // no save erased a use recorded meanwhile
	is.Equal(seed.LastUsedIP, ipv4)         // and its address
	for _, r := range got.Secrets {
		_, rec := lookup(t, s, r.Digest)
		is.Equal(rec.ID, r.ID) // every record is found by its digest
	}
}
