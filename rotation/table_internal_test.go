package rotation

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// TestIndexAgreesWithMap runs random puts and removes through an index
// and a map side by side, over few enough tags that runs of full slots
// form, wrap around the table's end and are cut by removals, and checks
// after each that both hold the same and that every tag is found from
// its home without crossing a free slot.
func TestIndexAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	snaps := []*snapshot{{}, {}, {}}
	var x index
	want := map[uint64]*snapshot{}
	for step := range 20_000 {
		tag := rng.Uint64N(200)
		if step > 10_000 {
			tag = rng.Uint64N(40) // fewer: the table is emptied again, to its first size
		}
		s := snaps[rng.IntN(len(snaps))]
		if rng.IntN(2) == 0 {
			x.put(tag, s)
			want[tag] = s
		} else {
			x.remove(tag, s)
			if want[tag] == s {
				delete(want, tag)
			}
		}
		checkIndex(t, &x, want)
	}
	x.clear()
	checkIndex(t, &x, map[uint64]*snapshot{})
	x.put(7, snaps[0]) // usable again after a clear
	checkIndex(t, &x, map[uint64]*snapshot{7: snaps[0]})
}

// TestIndexRemoveKeepsOthersTag checks that a remove of a tag another
// snapshot holds leaves it: an owner's next snapshot takes over the
// digests its last one shared with it.
func TestIndexRemoveKeepsOthersTag(t *testing.T) {
	older, newer := &snapshot{}, &snapshot{}
	var x index
	x.put(1, older)
	x.put(1, newer)
	x.remove(1, older)
	if got := x.get(1); got != newer {
		t.Fatalf("get(1) = %p after removing the older snapshot's tag; want the newer, %p", got, newer)
	}
	if x.len() != 1 {
		t.Fatalf("len = %d; want 1", x.len())
	}
}

func checkIndex(t *testing.T, x *index, want map[uint64]*snapshot) {
	t.Helper()
	if x.len() != len(want) {
		t.Fatalf("the index holds %d tags; want %d", x.len(), len(want))
	}
	for tag, s := range want {
		if got := x.get(tag); got != s {
			t.Fatalf("get(%d) = %p; want %p", tag, got, s)
		}
	}
	if x.get(1_000) != nil {
		t.Fatal("a tag never put is found")
	}
	used := 0
	mask := len(x.t.slots) - 1
	for i, sl := range x.t.slots {
		if sl.v == nil {
			continue
		}
		used++
		for j := x.t.home(sl.tag); j != i; j = (j + 1) & mask {
			if x.t.slots[j].v == nil {
				t.Fatalf("tag %d sits at %d past a free slot at %d, from its home %d", sl.tag, i, j, x.t.home(sl.tag))
			}
		}
	}
	if used != x.t.n {
		t.Fatalf("%d slots are used; the index counts %d", used, x.t.n)
	}
}

// TestPendingUsesAgreeWithMap runs random adds, updates and deletes
// through pendingUses and a map side by side, with digests that share
// their first 8 bytes in pairs, so that tags repeat in the table, and
// checks after each that both hold the same uses.
func TestPendingUsesAgreeWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	digest := func(n uint64) secrets.Digest {
		var d secrets.Digest
		d[0], d[31] = byte(n/2), byte(n) // n and n^1 share a tag
		return d
	}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var p pendingUses
	want := map[secrets.Digest]store.Use{}
	for step := range 20_000 {
		d := digest(rng.Uint64N(120))
		switch i := p.find(d); {
		case i < 0 && rng.IntN(3) > 0:
			use := store.Use{Owner: fmt.Sprint("owner ", step), At: start.Add(time.Duration(step))}
			p.add(d, use)
			want[d] = use
		case i >= 0 && rng.IntN(2) == 0:
			p.get(i).At = start.Add(time.Duration(step))
			w := want[d]
			w.At = p.get(i).At
			want[d] = w
		case i >= 0:
			p.delete(i)
			delete(want, d)
		}
		if p.len() != len(want) {
			t.Fatalf("step %d: %d uses pending; want %d", step, p.len(), len(want))
		}
		for d, w := range want {
			i := p.find(d)
			if i < 0 {
				t.Fatalf("step %d: a use pending is not found", step)
			}
			if got := *p.get(i); got != w {
				t.Fatalf("step %d: found %+v; want %+v", step, got, w)
			}
		}
	}
}

// TestNoteAfterPendingUsesMoved notes uses at the slots where a lookup
// found them before other uses were written, which moves slots back in
// the table: each lands on its own value, not on whatever took its old
// slot. Where slots lie depends on a multiplier drawn at random, so it
// runs many times over.
func TestNoteAfterPendingUsesMoved(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	later := start.Add(time.Second)
	digest := func(n byte) secrets.Digest { return secrets.Digest{n, 1: n} }
	const n, kept = 90, 10 // 90 in 128 slots: long runs, which removals shorten
	for range 200 {
		var mu sync.Mutex
		var u usage
		u.init(n, false, &mu)
		find := func(d secrets.Digest) int { // as Rotator.lookup does
			mu.Lock()
			defer mu.Unlock()
			return u.pending.find(d)
		}
		for i := range byte(n) {
			u.note(digest(i), find(digest(i)), store.Use{KeyID: fmt.Sprint(i), At: start}, start)
		}
		// Where the last ten are, which came last into their runs, before
		// the others are written.
		ats := make([]int, kept)
		for i := range ats {
			ats[i] = find(digest(byte(n - kept + i)))
		}
		b := u.take()
		b.uses, b.digests = b.uses[:n-kept], b.digests[:n-kept]
		u.written(b)
		for i, at := range ats {
			k := n - kept + i
			u.note(digest(byte(k)), at, store.Use{KeyID: fmt.Sprint(k), At: later}, later)
		}
		b = u.take()
		if len(b.uses) != kept {
			t.Fatalf("%d uses pending; want the last %d", len(b.uses), kept)
		}
		for i, use := range b.uses {
			if want := fmt.Sprint(b.digests[i][0]); use.KeyID != want || !use.At.Equal(later) {
				t.Fatalf("the use pending for key %s is %+v; want key %s at %v", want, use, want, later)
			}
		}
	}
}
