package rotation

import (
	"math/rand/v2"
	"testing"
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
	mask := len(x.slots) - 1
	for i, sl := range x.slots {
		if sl.s == nil {
			continue
		}
		used++
		for j := x.home(sl.tag); j != i; j = (j + 1) & mask {
			if x.slots[j].s == nil {
				t.Fatalf("tag %d sits at %d past a free slot at %d, from its home %d", sl.tag, i, j, x.home(sl.tag))
			}
		}
	}
	if used != x.n {
		t.Fatalf("%d slots are used; the index counts %d", used, x.n)
	}
}
