package sqlstore

import (
	"bytes"
	"encoding/binary"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rotorkit/rotor/store"
)

// A save writes only the rows that differ from those stored, when the
// Store knows what is stored: it remembers, for the owners it has lately
// loaded or saved (a few megabytes of them), the rows as they were at
// that version, each as its image (appendKeyImage, appendValueImage),
// which holds every column it writes. Versions only grow, and only a
// save, which moves the version, changes a row but for its last use,
// which RecordUses only moves forward and a save keeps when later than
// its own: so a row whose image is the one remembered for the version
// that a save's compare-and-swap checks is stored as the save would
// write it, but perhaps for a later use, which the save would keep
// anyway. A regeneration then writes its key and two values rather than
// every row of the owner.
//
// What a Store does not remember, because it never read the owner or
// forgot it, it writes whole, as it would without this.

// maxSeen is how many bytes of images a Store keeps: those of a thousand
// owners of a few keys each, or of fewer with many. A save usually
// follows the load of its keyset at once, so a few owners per writer at a
// time suffice; beyond that a save writes every row.
const maxSeen = 4 << 20

// seenRows are an owner's rows at a version.
type seenRows struct {
	version int64
	rows    *rowImages
}

// size returns what r costs, near enough: its images and a row's worth
// of bookkeeping for each row.
func (r *seenRows) size() int {
	return cap(r.rows.buf) + 64*(len(r.rows.keys)+len(r.rows.values))
}

// seen holds the seenRows of owners, up to maxSeen bytes of them.
type seen struct {
	mu     sync.Mutex
	owners map[string]*seenRows
	bytes  int // the sum of the sizes of owners
}

// get returns the rows remembered for owner at version, or nil.
func (s *seen) get(owner string, version int64) *seenRows {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.owners[owner]; r != nil && r.version == version {
		return r
	}
	return nil
}

// put remembers rows for owner unless a later version is remembered.
// Beyond maxSeen bytes it forgets other owners, any, to make room; rows
// larger than that it does not keep.
func (s *seen) put(owner string, rows *seenRows) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.owners[owner]; r != nil {
		if r.version > rows.version {
			return
		}
		s.removeLocked(owner)
	}
	n := rows.size()
	if n > maxSeen {
		return
	}
	for o := range s.owners {
		if s.bytes+n <= maxSeen {
			break
		}
		s.removeLocked(o)
	}
	if s.owners == nil {
		s.owners = make(map[string]*seenRows)
	}
	s.owners[owner] = rows
	s.bytes += n
}

// forget forgets owner, whose stored version is not known after a save
// that failed.
func (s *seen) forget(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(owner)
}

func (s *seen) removeLocked(owner string) {
	if r := s.owners[owner]; r != nil {
		s.bytes -= r.size()
		delete(s.owners, owner)
	}
}

// rowImages are the images of a keyset's rows, in buf, each row's at
// [start, end), keys in the keyset's order and values in their
// keys' order, current first. They are not changed once made.
type rowImages struct {
	buf    []byte
	keys   []rowImage
	values []rowImage
}

// rowImage is one row of rowImages.
type rowImage struct {
	id, key string // the row's id, and for a value its key's
	// pos is the key's index in the keyset, or the value's among its
	// key's (0 for the current one).
	pos int
	rec *store.Record // the key; nil for a value
	val *store.Value  // the value; nil for a key

	start, end int // the image, in rowImages.buf
}

// imagesOf returns the images of the rows of ks, which point into ks.
func imagesOf(ks *store.Keyset) *rowImages {
	im := &rowImages{keys: make([]rowImage, 0, len(ks.Keys)), buf: make([]byte, 0, 512*len(ks.Keys))}
	for i := range ks.Keys {
		r := &ks.Keys[i]
		start := len(im.buf)
		im.buf = appendKeyImage(im.buf, i, r)
		im.keys = append(im.keys, rowImage{id: r.ID, pos: i, rec: r, start: start, end: len(im.buf)})
		pos := 0
		for v := range r.Values() {
			start := len(im.buf)
			im.buf = appendValueImage(im.buf, r.ID, pos, v)
			im.values = append(im.values, rowImage{id: v.ID, key: r.ID, pos: pos, val: v, start: start, end: len(im.buf)})
			pos++
		}
	}
	return im
}

// image returns the image of row.
func (im *rowImages) image(row *rowImage) []byte { return im.buf[row.start:row.end] }

// seenAt returns im as the rows remembered for version. It drops what
// they point into, the keyset, which is its caller's: im is not to be
// written from after.
func (im *rowImages) seenAt(version int64) *seenRows {
	for _, rs := range [][]rowImage{im.keys, im.values} {
		for i := range rs {
			rs[i].rec, rs[i].val = nil, nil
		}
	}
	return &seenRows{version: version, rows: im}
}

// jsonArray returns rows as the JSON array of objects that rotor_save
// reads.
func jsonArray(rows []*rowImage) string {
	b := make([]byte, 0, 512*len(rows))
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		if r.val == nil {
			b = appendKeyJSON(b, r.pos, r.rec)
		} else {
			b = appendValueJSON(b, r.key, r.pos, r.val)
		}
	}
	return string(append(b, ']'))
}

// appendKeyImage appends to b the image of the row of r, the key at
// position pos: each column that a save writes, so encoded that two rows
// have the same image if and only if they store the same. Times count to
// the microsecond, as they are stored.
func appendKeyImage(b []byte, pos int, r *store.Record) []byte {
	b = binary.AppendUvarint(b, uint64(pos))
	b = appendImageString(b, r.ID)
	b = appendImageString(b, r.Name)
	b = appendImageString(b, string(r.Format))
	b = appendImageBool(b, r.Custom)
	b = appendImageBool(b, r.HMAC)
	b = binary.AppendUvarint(b, uint64(len(r.Scopes)))
	for _, sc := range r.Scopes {
		b = appendImageString(b, sc)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Networks)))
	for _, n := range r.Networks {
		b = appendImageBytes(b, n.Addr().AsSlice())
		b = binary.AppendVarint(b, int64(n.Bits()))
	}
	b = binary.AppendVarint(b, int64(r.RateLimit))
	b = binary.AppendUvarint(b, uint64(len(r.Metadata)))
	for _, k := range slices.Sorted(maps.Keys(r.Metadata)) {
		b = appendImageString(appendImageString(b, k), r.Metadata[k])
	}
	for _, t := range []time.Time{r.ExpiresAt, r.CreatedAt, r.UpdatedAt, r.RevokedAt, r.LastUsedAt, r.RemindedFor, r.RemindedAt} {
		b = appendImageTime(b, t)
	}
	return appendImageAddr(b, r.LastUsedIP)
}

// appendValueImage appends to b the image of the row of v, the value at
// position pos of the key id, as appendKeyImage does for keys.
func appendValueImage(b []byte, id string, pos int, v *store.Value) []byte {
	b = appendImageString(b, id)
	b = binary.AppendUvarint(b, uint64(pos))
	b = appendImageString(b, v.ID)
	b = appendImageString(b, v.Hint)
	b = append(b, v.Digest[:]...)
	b = appendImageString(b, v.Sealed.KEKID)
	b = appendImageBytes(b, v.Sealed.Ciphertext)
	for _, t := range []time.Time{v.CreatedAt, v.ExpiresAt, v.LastUsedAt, v.RemindedAt} {
		b = appendImageTime(b, t)
	}
	return appendImageAddr(b, v.LastUsedIP)
}

func appendImageString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendImageBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

func appendImageBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendImageTime appends t as stored: NULL for the zero time, else its
// microseconds.
func appendImageTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixMicro())
}

// appendImageAddr appends a as stored: NULL when invalid, else its text,
// which its binary form with the zone decides.
func appendImageAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, 0)
	}
	return appendImageString(appendImageBytes(append(b, 1), a.AsSlice()), a.Zone())
}

// ids returns the ids of rows.
func ids(rows []rowImage) []string {
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = rows[i].id
	}
	return out
}

// jsonIDs returns the ids of rows as a JSON array of strings.
func jsonIDs(rows []rowImage) string {
	b := []byte{'['}
	for i := range rows {
		b = appendJSONString(appendComma(b), rows[i].id)
	}
	return string(append(b, ']'))
}

// rowWrites are the rows a save writes and those it removes.
type rowWrites struct {
	// keys and values are the rows to write.
	keys, values []*rowImage
	// removed are the ids of the stored values and keys that the keyset
	// no longer holds, when known; unknown says they are not, and that
	// there may be some.
	removedValues, removedKeys []string
	unknown                    bool
}

// writesOf returns what a save of im over stored must write: when stored
// is nil, every row, and removals unknown unless the owner is new
// (version is 0); otherwise the rows whose images differ from stored's,
// and the removal of those stored that im does not hold.
func writesOf(im *rowImages, stored *seenRows, version int64) rowWrites {
	var w rowWrites
	if stored == nil {
		w.keys, _ = diffRows(im, im.keys, nil, nil)
		w.values, _ = diffRows(im, im.values, nil, nil)
		w.unknown = version != 0
		return w
	}
	w.keys, w.removedKeys = diffRows(im, im.keys, stored.rows, stored.rows.keys)
	w.values, w.removedValues = diffRows(im, im.values, stored.rows, stored.rows.values)
	return w
}

// diffRows returns the rows of im whose images differ from those of the
// rows of old with the same ids, or that old lacks, and the ids of the
// rows of old that rows lacks. With old nil, every row differs.
func diffRows(im *rowImages, rows []rowImage, old *rowImages, oldRows []rowImage) (changed []*rowImage, removed []string) {
	byID := make(map[string]*rowImage, len(oldRows))
	for i := range oldRows {
		byID[oldRows[i].id] = &oldRows[i]
	}
	for i := range rows {
		r := &rows[i]
		if o := byID[r.id]; o == nil || !bytes.Equal(old.image(o), im.image(r)) {
			changed = append(changed, r)
		}
		delete(byID, r.id)
	}
	for id := range byID {
		removed = append(removed, id)
	}
	return changed, removed
}

// prune reports whether the save may remove rows.
func (w *rowWrites) prune() bool {
	return w.unknown || len(w.removedValues) > 0 || len(w.removedKeys) > 0
}
