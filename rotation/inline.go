package rotation

import "unsafe"

// snapshotWith is a snapshot and bytes of B, a byte array, in one
// allocation: the snapshot's packed keyset is kept in them.
type snapshotWith[B any] struct {
	s    snapshot
	tail B
}

// allocWith returns a new snapshot and the bytes of B allocated with it.
func allocWith[B any]() (*snapshot, []byte) {
	x := new(snapshotWith[B])
	return &x.s, unsafe.Slice((*byte)(unsafe.Pointer(&x.tail)), unsafe.Sizeof(x.tail))
}

// inlineAllocs allocate a snapshot with room for n bytes after it, by n.
// Each n makes a whole object of a size the Go allocator has a class for
// (a snapshot is 72 bytes; objects beyond 512 bytes that hold pointers
// carry an 8-byte header), so that the room costs what the separate
// string it replaces did.
var inlineAllocs = [...]struct {
	n     int
	alloc func() (*snapshot, []byte)
}{
	{24, allocWith[[24]byte]}, {40, allocWith[[40]byte]}, {56, allocWith[[56]byte]},
	{72, allocWith[[72]byte]}, {88, allocWith[[88]byte]}, {104, allocWith[[104]byte]},
	{120, allocWith[[120]byte]}, {136, allocWith[[136]byte]}, {152, allocWith[[152]byte]},
	{168, allocWith[[168]byte]}, {184, allocWith[[184]byte]}, {216, allocWith[[216]byte]},
	{248, allocWith[[248]byte]}, {280, allocWith[[280]byte]}, {312, allocWith[[312]byte]},
	{344, allocWith[[344]byte]}, {376, allocWith[[376]byte]}, {408, allocWith[[408]byte]},
	{440, allocWith[[440]byte]}, {496, allocWith[[496]byte]}, {560, allocWith[[560]byte]},
	{624, allocWith[[624]byte]}, {688, allocWith[[688]byte]}, {816, allocWith[[816]byte]},
	{944, allocWith[[944]byte]}, {1072, allocWith[[1072]byte]}, {1200, allocWith[[1200]byte]},
	{1328, allocWith[[1328]byte]}, {1456, allocWith[[1456]byte]}, {1712, allocWith[[1712]byte]},
	{1968, allocWith[[1968]byte]},
}

// allocSnapshot returns a new zero snapshot and, allocated with it, room
// for at least n bytes; or nil room when n is too many, for the packed
// keyset to be a string of its own.
func allocSnapshot(n int) (*snapshot, []byte) {
	for _, a := range inlineAllocs {
		if n <= a.n {
			return a.alloc()
		}
	}
	return new(snapshot), nil
}

// inlineString copies b into room and returns the copy as a string, with
// no second copy. Nothing writes room afterwards, so the string never
// changes, as a string must not: room is the tail of a snapshot just
// allocated, which nothing else holds.
func inlineString(room, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	n := copy(room, b)
	return unsafe.String(&room[0], n)
}
