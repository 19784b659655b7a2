package rotation

import (
	"math/bits"
	"math/rand/v2"
)

// index maps the first 8 bytes of a digest (see short) to the snapshot
// that holds a value with that digest. It is one flat table probed
// linearly: a lookup among a million digests reads one slot, where a Go
// map of that size reads a table and then a group, far apart in memory;
// a cached Authenticate among a million keys costs a sixteenth less. It
// grows with what it holds, which the cache bounds, and gives its table
// back only when cleared. It is not safe for concurrent use; the cache
// guards it.
type index struct {
	slots []slot // a power of two of them, or none
	n     int    // slots in use
	mul   uint64 // an odd multiplier, drawn at random: the placement of digests no one can predict
	shift uint   // 64 - log2(len(slots))
}

// slot is one place of an index; s is nil where it is free.
type slot struct {
	tag uint64
	s   *snapshot
}

// minSlots is the size of an index's first table.
const minSlots = 64

// home is the slot where a search for tag starts.
func (x *index) home(tag uint64) int { return int((tag * x.mul) >> x.shift) }

// get returns the snapshot indexed under tag, or nil.
func (x *index) get(tag uint64) *snapshot {
	if x.n == 0 {
		return nil
	}
	mask := len(x.slots) - 1
	for i := x.home(tag); ; i = (i + 1) & mask {
		switch sl := &x.slots[i]; {
		case sl.s == nil:
			return nil
		case sl.tag == tag:
			return sl.s
		}
	}
}

// put indexes s under tag, in place of whatever was.
func (x *index) put(tag uint64, s *snapshot) {
	if (x.n+1)*4 > len(x.slots)*3 { // at most three quarters full
		x.resize(max(minSlots, 2*len(x.slots)))
	}
	mask := len(x.slots) - 1
	for i := x.home(tag); ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.s == nil {
			*sl = slot{tag, s}
			x.n++
			return
		}
		if sl.tag == tag {
			sl.s = s
			return
		}
	}
}

// remove drops tag if it is indexed to s.
func (x *index) remove(tag uint64, s *snapshot) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(tag)
	for ; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.s == nil {
			return
		}
		if sl.tag == tag {
			if sl.s != s {
				return
			}
			break
		}
	}
	// Move back every slot after i that a search would no longer reach
	// past the free one, until a free slot ends the run.
	for j := (i + 1) & mask; x.slots[j].s != nil; j = (j + 1) & mask {
		if h := x.home(x.slots[j].tag); (j-h)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot{}
	x.n--
}

// len returns how many tags are indexed.
func (x *index) len() int { return x.n }

// clear drops every tag, and the table with them.
func (x *index) clear() { *x = index{} }

// resize moves the tags into a table of n slots, n a power of two.
func (x *index) resize(n int) {
	old := x.slots
	x.slots = make([]slot, n)
	x.shift = uint(64 - bits.TrailingZeros(uint(n)))
	if x.mul == 0 {
		x.mul = rand.Uint64() | 1
	}
	x.n = 0
	for _, sl := range old {
		if sl.s != nil {
			x.put(sl.tag, sl.s)
		}
	}
}
