package rotation

import (
	"encoding/binary"
	"maps"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// packed is an owner's keyset as the cache keeps it: every field of every
// key in one string, so that a cached owner costs one allocation of a
// couple of hundred bytes instead of a tree of structs several times that
// size. Strings unpacked from it are substrings of it, and cost nothing.
// It holds what the store holds: digests and sealed values, never a
// plaintext.
//
// Each key is laid out so that what Authenticate needs comes first: the
// digests of its values, for the constant-time comparison of all of
// them, then what tells whether it signs, then the rest.
//
//	keyset  = owner signing count+1:uvarint key*    (0 for nil keys)
//	key     = length:uvarint count:uvarint digest:[32]byte* flags:byte
//	          expiresAt revokedAt id format name scopes networks
//	          rateLimit:varint metadata createdAt updatedAt lastUsedAt
//	          lastUsedIP value*
//	value   = id hint kekID ciphertext createdAt expiresAt lastUsedAt lastUsedIP
//
// Strings are a length and their bytes; times a tag (zero, UTC, Local,
// or an index into the keyset's other locations) and, unless zero,
// seconds and nanoseconds; addresses a tag (none, 4, 16, 16 with a zone)
// and their bytes. Slices and maps keep the difference between nil and
// empty. A time's monotonic reading, which a stored time does not carry
// (stores return times without one), is dropped.
type packed struct {
	data string
	// locs are the locations of times in neither UTC nor Local, which
	// no test or store of this module makes; nil when there are none.
	locs *[]*time.Location
}

// The flags of a packed key.
const (
	flagCustom     = 1 << iota
	flagHMAC       // Attributes.HMAC
	flagScopes     // Scopes is not nil
	flagNetworks   // Networks is not nil
	flagMetadata   // Metadata is not nil
	flagPrevious   // Previous is not nil
	flagCiphertext // in a value: Sealed.Ciphertext is not nil
)

// The tags of a packed time.
const (
	timeZero = iota
	timeUTC
	timeLocal
	timeOther // followed by an index into packed.locs
)

// The tags of a packed address.
const (
	addrNone = iota
	addr4
	addr16
	addr16Zone // followed by the zone
)

// pack packs ks. Its version is kept beside it, not in it.
func pack(ks *store.Keyset) packed {
	w := packing(ks)
	return w.packed(string(w.b))
}

// packed returns what w packed, held in data, which is string(w.b) or a
// copy of it.
func (w *writer) packed(data string) packed {
	p := packed{data: data}
	if len(w.locs) > 0 {
		p.locs = &w.locs
	}
	return p
}

// packing returns a writer that has packed ks.
func packing(ks *store.Keyset) *writer {
	w := &writer{b: make([]byte, 0, 64+200*len(ks.Keys))}
	w.str(ks.Owner)
	w.str(ks.Signing)
	w.time(ks.DueAt)
	if ks.Keys != nil {
		w.uv(uint64(len(ks.Keys)) + 1)
	} else {
		w.uv(0)
	}
	var rec []byte
	for i := range ks.Keys {
		rec = w.record(rec[:0], &ks.Keys[i])
		w.uv(uint64(len(rec)))
		w.b = append(w.b, rec...)
	}
	return w
}

// writer appends the packed form of a keyset to b.
type writer struct {
	b    []byte
	locs []*time.Location
}

func (w *writer) uv(x uint64) { w.b = binary.AppendUvarint(w.b, x) }

func (w *writer) str(s string) {
	w.uv(uint64(len(s)))
	w.b = append(w.b, s...)
}

// record packs k into rec, which it returns, grown.
func (w *writer) record(rec []byte, k *store.Record) []byte {
	outer := w.b
	w.b = rec
	w.uv(uint64(1 + len(k.Previous)))
	w.b = append(w.b, k.Current.Digest[:]...)
	for i := range k.Previous {
		w.b = append(w.b, k.Previous[i].Digest[:]...)
	}
	var flags byte
	for _, f := range []struct {
		set  bool
		flag byte
	}{
		{k.Custom, flagCustom}, {k.HMAC, flagHMAC}, {k.Scopes != nil, flagScopes},
		{k.Networks != nil, flagNetworks}, {k.Metadata != nil, flagMetadata}, {k.Previous != nil, flagPrevious},
	} {
		if f.set {
			flags |= f.flag
		}
	}
	w.b = append(w.b, flags)
	w.time(k.ExpiresAt)
	w.time(k.RevokedAt)
	w.str(k.ID)
	w.str(string(k.Format))
	w.str(k.Name)
	w.uv(uint64(len(k.Scopes)))
	for _, s := range k.Scopes {
		w.str(s)
	}
	w.uv(uint64(len(k.Networks)))
	for _, n := range k.Networks {
		w.addr(n.Addr())
		w.uv(uint64(n.Bits() + 1)) // -1 for an invalid prefix
	}
	w.b = binary.AppendVarint(w.b, int64(k.RateLimit))
	w.uv(uint64(len(k.Metadata)))
	// In the keys' order, so that one keyset always packs the same: a
	// sweep tells a keyset it left as it was by its packed bytes.
	for _, key := range slices.Sorted(maps.Keys(k.Metadata)) {
		w.str(key)
		w.str(k.Metadata[key])
	}
	w.time(k.CreatedAt)
	w.time(k.UpdatedAt)
	w.time(k.LastUsedAt)
	w.addr(k.LastUsedIP)
	w.time(k.RemindedFor)
	w.time(k.RemindedAt)
	w.value(&k.Current)
	for i := range k.Previous {
		w.value(&k.Previous[i])
	}
	rec, w.b = w.b, outer
	return rec
}

func (w *writer) value(v *store.Value) {
	w.str(v.ID)
	w.str(v.Hint)
	w.str(v.Sealed.KEKID)
	if v.Sealed.Ciphertext == nil {
		w.b = append(w.b, 0)
	} else {
		w.b = append(w.b, flagCiphertext)
		w.uv(uint64(len(v.Sealed.Ciphertext)))
		w.b = append(w.b, v.Sealed.Ciphertext...)
	}
	w.time(v.CreatedAt)
	w.time(v.ExpiresAt)
	w.time(v.LastUsedAt)
	w.addr(v.LastUsedIP)
	w.time(v.RemindedAt)
}

func (w *writer) time(t time.Time) {
	if t == (time.Time{}) {
		w.b = append(w.b, timeZero)
		return
	}
	switch loc := t.Location(); loc {
	case time.UTC:
		w.b = append(w.b, timeUTC)
	case time.Local:
		w.b = append(w.b, timeLocal)
	default:
		w.b = append(w.b, timeOther)
		i := 0
		for i < len(w.locs) && w.locs[i] != loc {
			i++
		}
		if i == len(w.locs) {
			w.locs = append(w.locs, loc)
		}
		w.uv(uint64(i))
	}
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.uv(uint64(t.Nanosecond()))
}

func (w *writer) addr(a netip.Addr) {
	switch {
	case !a.IsValid():
		w.b = append(w.b, addrNone)
	case a.Is4():
		w.b = append(w.b, addr4)
		b := a.As4()
		w.b = append(w.b, b[:]...)
	default:
		zone := a.Zone()
		if zone == "" {
			w.b = append(w.b, addr16)
		} else {
			w.b = append(w.b, addr16Zone)
		}
		b := a.As16()
		w.b = append(w.b, b[:]...)
		if zone != "" {
			w.str(zone)
		}
	}
}

// reader reads a packed keyset from its start, or from a key's.
type reader struct {
	p packed
	i int // where the next read starts in p.data
}

// uv reads an unsigned varint. The data is this package's own, so a
// malformed one is a bug: it panics, as an index out of range would.
func (r *reader) uv() uint64 {
	var x uint64
	for shift := 0; ; shift += 7 {
		c := r.p.data[r.i]
		r.i++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
}

func (r *reader) varint() int64 {
	u := r.uv()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) byte() byte {
	c := r.p.data[r.i]
	r.i++
	return c
}

func (r *reader) str() string {
	n := int(r.uv())
	s := r.p.data[r.i : r.i+n]
	r.i += n
	return s
}

func (r *reader) time() time.Time {
	tag := r.byte()
	var loc *time.Location
	switch tag {
	case timeZero:
		return time.Time{}
	case timeUTC:
		loc = time.UTC
	case timeLocal:
		loc = time.Local
	default:
		loc = (*r.p.locs)[r.uv()]
	}
	sec := r.varint()
	nsec := int64(r.uv())
	return time.Unix(sec, nsec).In(loc)
}

// skipUv skips an unsigned or a signed varint.
func (r *reader) skipUv() {
	for r.p.data[r.i] >= 0x80 {
		r.i++
	}
	r.i++
}

func (r *reader) skipStr() { r.i += int(r.uv()) }

func (r *reader) skipTime() {
	switch r.byte() {
	case timeZero:
		return
	case timeOther:
		r.skipUv()
	}
	r.skipUv()
	r.skipUv()
}

func (r *reader) skipAddr() {
	switch r.byte() {
	case addr4:
		r.i += 4
	case addr16:
		r.i += 16
	case addr16Zone:
		r.i += 16
		r.skipStr()
	}
}

func (r *reader) addr() netip.Addr {
	switch r.byte() {
	case addrNone:
		return netip.Addr{}
	case addr4:
		var b [4]byte
		r.i += copy(b[:], r.p.data[r.i:r.i+4])
		return netip.AddrFrom4(b)
	default:
		zoned := r.p.data[r.i-1] == addr16Zone
		var b [16]byte
		r.i += copy(b[:], r.p.data[r.i:r.i+16])
		a := netip.AddrFrom16(b)
		if zoned {
			a = a.WithZone(r.str())
		}
		return a
	}
}

// owner returns the owner of p's keyset.
func (p packed) owner() string {
	r := reader{p: p}
	return r.str()
}

// keys calls fn with the start of each key of p, in order, until fn
// returns false.
func (p packed) keys(fn func(i int, at int) bool) {
	r := reader{p: p}
	r.str()  // owner
	r.str()  // signing
	r.time() // due
	n := max(0, int(r.uv())-1)
	for i := range n {
		size := int(r.uv())
		if !fn(i, r.i) {
			return
		}
		r.i += size
	}
}

// digest returns the digest packed at i.
func (p packed) digest(i int) secrets.Digest {
	var d secrets.Digest
	copy(d[:], p.data[i:])
	return d
}

// digests calls fn with the digest of every value of p's keyset.
func (p packed) digests(fn func(d secrets.Digest)) {
	p.keys(func(_, at int) bool {
		r := reader{p: p, i: at}
		for range int(r.uv()) {
			fn(p.digest(r.i))
			r.i += len(secrets.Digest{})
		}
		return true
	})
}

// find returns the index of the key that has a value whose digest is d,
// the index of that value (0 for the current one, then the previous ones
// in order), and where the key starts, or -1, -1 and -1. Every digest is
// compared, in constant time.
func (p packed) find(d secrets.Digest) (index, value, at int) {
	index, value, at = -1, -1, -1
	p.keys(func(i, start int) bool {
		r := reader{p: p, i: start}
		for j := range int(r.uv()) {
			if d.Equal(p.digest(r.i)) {
				index, value, at = i, j, start
			}
			r.i += len(d)
		}
		return true
	})
	return index, value, at
}

// head is what tells whether a key signs, read without the rest of it.
type head struct {
	id        string
	canSign   bool
	expiresAt time.Time
	revokedAt time.Time
}

// validAt reports whether the key is active at instant t, as
// [store.Record.ValidAt] does.
func (h *head) validAt(t time.Time) bool {
	return (h.revokedAt.IsZero() || t.Before(h.revokedAt)) && (h.expiresAt.IsZero() || t.Before(h.expiresAt))
}

func (r *reader) head() head {
	n := int(r.uv())
	r.i += n * len(secrets.Digest{})
	flags := r.byte()
	var h head
	h.expiresAt = r.time()
	h.revokedAt = r.time()
	h.id = r.str()
	h.canSign = flags&flagHMAC != 0 || secrets.Format(r.str()).IsWebhook()
	return h
}

// signing returns the index of the key that signs p's owner's webhooks
// at now, by the rule of [signingIndex], or -1, reading only the keys'
// heads.
func (p packed) signing(now time.Time) int {
	r := reader{p: p}
	r.str() // owner
	designated := r.str()
	found, first := -1, -1
	p.keys(func(i, at int) bool {
		r := reader{p: p, i: at}
		h := r.head()
		if !h.validAt(now) {
			return true
		}
		if h.id == designated {
			found = i
			return false
		}
		if first < 0 && h.canSign {
			first = i
		}
		return true
	})
	if found >= 0 {
		return found
	}
	return first
}

// record unpacks the key that starts at at.
func (p packed) record(at int) store.Record { return p.unpack(at, true) }

// shown unpacks the key that starts at at but for its values' sealed
// forms, which Authenticate has no use for: copying a ciphertext out of
// the packed keyset would cost an allocation on every call.
func (p packed) shown(at int) store.Record { return p.unpack(at, false) }

// unpack unpacks the key that starts at at, with its values' sealed forms
// if sealed.
func (p packed) unpack(at int, sealed bool) store.Record {
	r := reader{p: p, i: at}
	n := int(r.uv())
	digests := r.i
	r.i += n * len(secrets.Digest{})
	flags := r.byte()
	var k store.Record
	k.ID, k.RevokedAt = r.attributes(flags, &k.Attributes)
	k.CreatedAt = r.time()
	k.UpdatedAt = r.time()
	k.LastUsedAt = r.time()
	k.LastUsedIP = r.addr()
	k.RemindedFor = r.time()
	k.RemindedAt = r.time()
	k.Current = r.value(sealed)
	k.Current.Digest = p.digest(digests)
	if n > 1 || flags&flagPrevious != 0 {
		k.Previous = make([]store.Value, n-1)
		for j := range k.Previous {
			k.Previous[j] = r.value(sealed)
			k.Previous[j].Digest = p.digest(digests + (j+1)*len(secrets.Digest{}))
		}
	}
	return k
}

// principal reads into out what Authenticate shows of the key of owner
// that starts at at, whose value presented (0 for the current one, then
// the previous ones in order) was presented, at instant now: what
// secretOf and valueInfo make of the unpacked key, read without
// unpacking it. Left out are what Authenticate sets itself once its
// checks pass: whether the key signs, and the last use of the key and of
// the value presented. Sealed forms and reminders are skipped, as are
// previous values no longer accepted at now.
func (p packed) principal(owner string, at, presented int, now time.Time, out *Principal) {
	r := reader{p: p, i: at}
	n := int(r.uv())
	r.i += n * len(secrets.Digest{})
	flags := r.byte()
	sec := &out.Secret
	sec.Owner = owner
	sec.ID, sec.RevokedAt = r.attributes(flags, &sec.Attributes)
	sec.CreatedAt = r.time()
	sec.UpdatedAt = r.time()
	r.skipTime() // LastUsedAt
	r.skipAddr() // LastUsedIP
	r.skipTime() // RemindedFor
	r.skipTime() // RemindedAt
	sec.Status = statusAt(sec.RevokedAt, sec.ExpiresAt, now)
	for j := range n {
		v := r.valueInfo(j != presented)
		switch {
		case j == 0:
			sec.Current = v
		case sec.Status == StatusActive && now.Before(v.ExpiresAt): // as Record.PreviousValidAt
			sec.Previous = append(sec.Previous, v)
		}
		if j == presented {
			out.Presented = v
		}
	}
	out.Owner = owner
	out.Previous = presented > 0
}

// statusAt is [store.Record.StatusAt] of a key revoked at revokedAt that
// expires at expiresAt, without a whole record to ask.
func statusAt(revokedAt, expiresAt, t time.Time) Status {
	switch {
	case !revokedAt.IsZero() && !t.Before(revokedAt):
		return StatusRevoked
	case !expiresAt.IsZero() && !t.Before(expiresAt):
		return StatusExpired
	default:
		return StatusActive
	}
}

// signs reports whether key i, which has the given id, can sign if
// canSign, and is active at now, signs p's owner's webhooks at now, by
// the rule of [packed.signing]. The other keys are read only when the
// answer depends on them: a key designated signs, and one that can sign
// nothing and is not designated does not.
func (p packed) signs(i int, id string, canSign bool, now time.Time) bool {
	r := reader{p: p}
	r.str() // owner
	switch designated := r.str(); {
	case designated != "" && designated == id:
		return true
	case !canSign:
		return false
	}
	return p.signing(now) == i
}

// attributes reads into a the fields of a key from its expiry through
// its metadata, given the key's flags, which come before them, and
// returns the key's id and revocation, which lie among those fields.
func (r *reader) attributes(flags byte, a *store.Attributes) (id string, revokedAt time.Time) {
	a.ExpiresAt = r.time()
	revokedAt = r.time()
	id = r.str()
	a.Format = secrets.Format(r.str())
	a.Name = r.str()
	a.Custom = flags&flagCustom != 0
	a.HMAC = flags&flagHMAC != 0
	if c := int(r.uv()); c > 0 || flags&flagScopes != 0 {
		a.Scopes = make([]string, c)
		for j := range a.Scopes {
			a.Scopes[j] = r.str()
		}
	}
	if c := int(r.uv()); c > 0 || flags&flagNetworks != 0 {
		a.Networks = make([]netip.Prefix, c)
		for j := range a.Networks {
			addr := r.addr()
			a.Networks[j] = netip.PrefixFrom(addr, int(r.uv())-1)
		}
	}
	rate := r.varint()
	if rate < math.MinInt || rate > math.MaxInt {
		panic("rotation: packed rate limit out of range") // packed by this package from an int
	}
	a.RateLimit = int(rate)
	if c := int(r.uv()); c > 0 || flags&flagMetadata != 0 {
		a.Metadata = make(map[string]string, c)
		for range c {
			key := r.str()
			a.Metadata[key] = r.str()
		}
	}
	return id, revokedAt
}

func (r *reader) value(sealed bool) store.Value {
	var v store.Value
	v.ID = r.str()
	v.Hint = r.str()
	kekID := r.str()
	if r.byte() == flagCiphertext {
		n := int(r.uv())
		if sealed {
			v.Sealed.Ciphertext = []byte(r.p.data[r.i : r.i+n])
		}
		r.i += n
	}
	if sealed {
		v.Sealed.KEKID = kekID
	}
	v.CreatedAt = r.time()
	v.ExpiresAt = r.time()
	v.LastUsedAt = r.time()
	v.LastUsedIP = r.addr()
	v.RemindedAt = r.time()
	return v
}

// valueInfo reads what may be shown of a value, skipping its sealed form
// and its reminder, and its last use unless lastUse.
func (r *reader) valueInfo(lastUse bool) ValueInfo {
	var v ValueInfo
	v.ID = r.str()
	v.Hint = r.str()
	r.skipStr() // the KEK id
	if r.byte() == flagCiphertext {
		r.i += int(r.uv())
	}
	v.CreatedAt = r.time()
	v.ExpiresAt = r.time()
	if lastUse {
		v.LastUsedAt = r.time()
		v.LastUsedIP = r.addr()
	} else {
		r.skipTime()
		r.skipAddr()
	}
	r.skipTime() // RemindedAt
	return v
}

// keyset unpacks p into a keyset of the given version that shares
// nothing mutable with p: the caller may change it.
func (p packed) keyset(version int64) store.Keyset {
	r := reader{p: p}
	ks := store.Keyset{Owner: r.str(), Version: version, Signing: r.str(), DueAt: r.time()}
	if n := int(r.uv()); n > 0 { // 0 stands for nil, n for n-1 keys
		ks.Keys = make([]store.Record, 0, n-1)
	}
	p.keys(func(_, at int) bool {
		ks.Keys = append(ks.Keys, p.record(at))
		return true
	})
	return ks
}
