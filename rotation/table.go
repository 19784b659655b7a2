package rotation

import (
	"math/bits"
	"math/rand/v2"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// table is a flat hash table of values of type V by 64-bit tags, probed
// linearly, on which the cache's index of digests and the uses waiting
// to be written are built: among a million digests, a lookup reads one
// slot, where a Go map of that size reads a table and then a group, far
// apart in memory. Tags may repeat; the zero V marks a free slot and is
// never stored. It grows with what it holds and gives its slots back
// only when cleared. It is not safe for concurrent use.
type table[V comparable] struct {
	slots []tableSlot[V] // a power of two of them, or none
	n     int            // slots in use
	mul   uint64         // an odd multiplier, drawn at random: where a tag goes, no one can predict
	shift uint           // 64 - log2(len(slots))
}

type tableSlot[V comparable] struct {
	tag uint64
	v   V
}

// minSlots is the size of a table's first array of slots.
const minSlots = 64

// home is the slot where a search for tag starts.
func (t *table[V]) home(tag uint64) int { return int((tag * t.mul) >> t.shift) }

// first returns the first slot that holds tag, or -1.
func (t *table[V]) first(tag uint64) int {
	if t.n == 0 {
		return -1
	}
	return t.scan(tag, t.home(tag))
}

// next returns the slot after i that holds tag, i holding it, or -1.
func (t *table[V]) next(tag uint64, i int) int {
	return t.scan(tag, (i+1)&(len(t.slots)-1))
}

// scan returns the first slot from i on that holds tag, or -1 when a
// free slot comes first. A table is never full, so one does come.
func (t *table[V]) scan(tag uint64, i int) int {
	var free V
	mask := len(t.slots) - 1
	for ; ; i = (i + 1) & mask {
		switch sl := &t.slots[i]; {
		case sl.v == free:
			return -1
		case sl.tag == tag:
			return i
		}
	}
}

// insert stores v, not the zero V, under tag, beside any other value
// under it, and returns its slot.
func (t *table[V]) insert(tag uint64, v V) int {
	if (t.n+1)*4 > len(t.slots)*3 { // at most three quarters full
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	var free V
	mask := len(t.slots) - 1
	i := t.home(tag)
	for t.slots[i].v != free {
		i = (i + 1) & mask
	}
	t.slots[i] = tableSlot[V]{tag, v}
	t.n++
	return i
}

// removeAt frees slot i, which is in use. Every slot after it that a
// search would no longer reach past the free one moves back, until a free
// slot ends the run.
func (t *table[V]) removeAt(i int) {
	var free V
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].v != free; j = (j + 1) & mask {
		if h := t.home(t.slots[j].tag); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = tableSlot[V]{}
	t.n--
}

// clear drops everything, and the slots with it.
func (t *table[V]) clear() { *t = table[V]{} }

// resize moves what t holds into n slots, n a power of two.
func (t *table[V]) resize(n int) {
	old := t.slots
	t.slots = make([]tableSlot[V], n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	if t.mul == 0 {
		t.mul = rand.Uint64() | 1
	}
	t.n = 0
	var free V
	for _, sl := range old {
		if sl.v != free {
			t.insert(sl.tag, sl.v)
		}
	}
}

// index maps the first 8 bytes of a digest (see short) to the snapshot
// that holds a value with that digest, one snapshot for each.
type index struct{ t table[*snapshot] }

// get returns the snapshot indexed under tag, or nil.
func (x *index) get(tag uint64) *snapshot {
	if i := x.t.first(tag); i >= 0 {
		return x.t.slots[i].v
	}
	return nil
}

// put indexes s under tag, in place of whatever was.
func (x *index) put(tag uint64, s *snapshot) {
	if i := x.t.first(tag); i >= 0 {
		x.t.slots[i].v = s
		return
	}
	x.t.insert(tag, s)
}

// remove drops tag if it is indexed to s.
func (x *index) remove(tag uint64, s *snapshot) {
	if i := x.t.first(tag); i >= 0 && x.t.slots[i].v == s {
		x.t.removeAt(i)
	}
}

// len returns how many tags are indexed.
func (x *index) len() int { return x.t.n }

// clear drops every tag.
func (x *index) clear() { x.t.clear() }

// pendingUses holds the latest unwritten use of each value, by the
// value's digest, exactly: the uses lie side by side, for a batch to be
// copied at once, and a table finds each by the first 8 bytes of its
// digest, which only the whole digest beside the use confirms. A table of
// a quarter of a million uses is a sixth of the size of a Go map of
// them, and one lookup in it reads one slot.
type pendingUses struct {
	uses []pendingUse
	at   table[int] // where in uses, plus one, by short(digest)
}

type pendingUse struct {
	d   secrets.Digest
	use store.Use
}

// len returns how many values have a use pending.
func (p *pendingUses) len() int { return len(p.uses) }

// find returns the slot of p.at that holds the use of the value whose
// digest is d, or -1.
func (p *pendingUses) find(d secrets.Digest) int {
	tag := short(d)
	for i := p.at.first(tag); i >= 0; i = p.at.next(tag, i) {
		if p.uses[p.at.slots[i].v-1].d == d {
			return i
		}
	}
	return -1
}

// findFrom returns find(d), but first tries slot i, where an earlier
// find(d) answered: unless uses came or went since, it still holds d's,
// and is read from memory already.
func (p *pendingUses) findFrom(i int, d secrets.Digest) int {
	if i >= 0 && i < len(p.at.slots) {
		if pos := p.at.slots[i].v; pos > 0 && p.uses[pos-1].d == d {
			return i
		}
	}
	return p.find(d)
}

// get returns the use held in slot i of p.at.
func (p *pendingUses) get(i int) *store.Use { return &p.uses[p.at.slots[i].v-1].use }

// add keeps use, of the value whose digest is d, which has none pending.
func (p *pendingUses) add(d secrets.Digest, use store.Use) {
	p.uses = append(p.uses, pendingUse{d, use})
	p.at.insert(short(d), len(p.uses))
}

// delete forgets the use held in slot i of p.at. The last use takes its
// place among the uses.
func (p *pendingUses) delete(i int) {
	pos := p.at.slots[i].v
	p.at.removeAt(i)
	last := len(p.uses)
	if pos != last {
		moved := p.uses[last-1]
		p.at.slots[p.find(moved.d)].v = pos // found at last, where it still is
		p.uses[pos-1] = moved
	}
	p.uses[last-1] = pendingUse{} // its strings are the collector's
	p.uses = p.uses[:last-1]
}
