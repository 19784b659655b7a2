package rotation

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// snapshot is one owner's keyset as read at one instant. Nothing of it
// changes once made but keys, which holds what is built from it on first
// use, so every reader shares it without a lock.
type snapshot struct {
	p       packed // the keyset as read; never changed
	version int64  // its version
	// readAt is when the read that got the keyset began, by the
	// Rotator's clock: whatever was saved before it is in the keyset, so
	// staleness counts from it.
	readAt time.Time
	keys   atomic.Pointer[keySnap] // the HMAC keys of the keyset; nil until first asked for

	// used is the cache's count of uses when s was last used, by which
	// the least recently used of a sample goes first. It is guarded by
	// cache.mu.
	used uint64
}

// newSnapshot returns a snapshot of ks, read from readAt on. It shares
// nothing with ks.
//
// The packed bytes share the snapshot's allocation, unless there are too
// many: a lookup that reads the snapshot then finds the key beside it,
// where a separate string cost a second read from memory far away, the
// slowest step of a cached Authenticate among a million keys.
func newSnapshot(ks *store.Keyset, readAt time.Time) *snapshot {
	w := packing(ks)
	s, tail := allocSnapshot(len(w.b))
	if tail == nil {
		s.p = w.packed(string(w.b))
	} else {
		s.p = w.packed(inlineString(tail, w.b))
	}
	s.version, s.readAt = ks.Version, readAt
	return s
}

// owner returns the snapshot's owner.
func (s *snapshot) owner() string { return s.p.owner() }

// keyset returns a copy of the snapshot's keyset, the caller's to change.
func (s *snapshot) keyset() store.Keyset { return s.p.keyset(s.version) }

// genBuckets is how many generation counters a cache keeps: owners share
// them by a hash, so that an invalidation costs no memory, whoever it
// names.
const genBuckets = 1 << 12

// ticket is what a fill holds from before it reads until it offers what
// it read: the cache stores the read only if no invalidation that could
// concern its owner came in between.
type ticket struct{ epoch, gen uint64 }

// cache keeps the snapshots of at most max owners, with an index of every
// value's digest. It is safe for concurrent use.
//
// Beyond max owners, the least recently used of a sample of evictSample
// cached owners goes, as Redis evicts: exactly the least recently used
// while no more are cached, one of the least among more. A hit then
// writes one counter into the snapshot it reads anyway, where moving the
// snapshot to the front of a list wrote its two neighbours, two reads
// from memory far apart in a large cache, on every call.
//
// It never goes back in time: a read that began before an invalidation,
// an eviction or a save of its owner's bucket is not stored, and neither
// is a read of an older version than the one cached.
type cache struct {
	max    int
	maxAge time.Duration
	seed   maphash.Seed

	// mu guards the fields below, every snapshot's used, and the
	// Rotator's pending uses (see Rotator.lookup).
	mu     sync.Mutex
	owners map[string]*snapshot
	// digests maps the digest of every value of every snapshot in owners
	// to its snapshot, by the digest's first 8 bytes (see index): a third
	// of the memory of the whole digest, for a chance of a collision
	// between two values cached, among a million, under one in ten
	// million. A collision costs no correctness: a snapshot found is
	// always checked for the whole digest, and one not found is looked up
	// in the store.
	digests index
	uses    uint64             // the uses of snapshots so far
	gens    [genBuckets]uint64 // bumped when an owner of the bucket may have changed
	epoch   uint64             // bumped when every owner may have changed
}

func (c *cache) init(max int, maxAge time.Duration) {
	c.max, c.maxAge = max, maxAge
	c.seed = maphash.MakeSeed()
	c.owners = make(map[string]*snapshot)
}

// fresh reports whether s may be served at now: its read began less than
// maxAge before.
func (c *cache) fresh(s *snapshot, now time.Time) bool {
	return now.Sub(s.readAt) < c.maxAge
}

func (c *cache) bucket(owner string) *uint64 {
	return &c.gens[maphash.String(c.seed, owner)&(genBuckets-1)]
}

func (c *cache) ticketLocked(owner string) ticket {
	return ticket{c.epoch, *c.bucket(owner)}
}

// get returns the owner's snapshot if one may be served at now, and the
// ticket a fill must hold if none may.
func (c *cache) get(owner string, now time.Time) (*snapshot, ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.owners[owner]; s != nil && c.fresh(s, now) {
		c.touchLocked(s)
		return s, ticket{}
	}
	return nil, c.ticketLocked(owner)
}

// ticket returns the owner's ticket, for a fill that must read whatever
// is cached.
func (c *cache) ticket(owner string) ticket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticketLocked(owner)
}

// hit is where a lookup placed a digest: the cached snapshot that may
// hold it, whether that may be served, and the key of it that holds the
// digest (i), the value (j) and where the key starts (at), all -1 when
// none does; and the slot of the pending uses that holds the use of the
// digest's value, or -1.
type hit struct {
	s        *snapshot
	fresh    bool
	i, j, at int
	use      int
}

// lookup returns where the cache and the pending uses place d at now. A
// snapshot whose digest only begins the same (see cache.digests) holds no
// key of it.
//
// Both are looked up under one hold of the cache's lock, which guards the
// pending uses too: the reads of the index's slot and the uses' slot from
// memory then overlap, where one after the other, among a million keys,
// they made a cached Authenticate cost a tenth more.
func (r *Rotator) lookup(d secrets.Digest, now time.Time) hit {
	h := hit{i: -1, j: -1, at: -1}
	c := &r.cache
	c.mu.Lock()
	h.s = c.digests.get(short(d))
	h.use = r.uses.pending.find(d)
	if h.s != nil {
		if h.fresh = c.fresh(h.s, now); h.fresh {
			c.touchLocked(h.s)
		}
	}
	c.mu.Unlock()
	if h.s != nil {
		h.i, h.j, h.at = h.s.p.find(d)
	}
	return h
}

// offer stores s, read under ticket t, unless an invalidation came since
// t was taken or a newer version is cached. It reports whether s is
// stored.
func (c *cache) offer(s *snapshot, t ticket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner := s.owner()
	if c.ticketLocked(owner) != t {
		return false
	}
	cur := c.owners[owner]
	if cur != nil && cur.version > s.version {
		return false
	}
	if cur != nil && cur.version == s.version {
		// The same keyset read again, as MaxAge asks: its keys need not
		// be opened and built again.
		s.keys.CompareAndSwap(nil, cur.keys.Load())
	}
	c.putLocked(s, cur)
	return true
}

// older reports whether the owner's cached snapshot is of a version
// before version.
func (c *cache) older(owner string, version int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.owners[owner]
	return s != nil && s.version < version
}

// install stores s, which holds what this process has just saved, over
// whatever is cached but a newer version. Fills under way that began
// before it are not stored.
func (c *cache) install(s *snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner := s.owner()
	*c.bucket(owner)++
	cur := c.owners[owner]
	if cur != nil && cur.version > s.version {
		return
	}
	c.putLocked(s, cur)
}

// invalidate drops the owner's snapshot, if one is cached, and makes the
// fills under way for it store nothing. An owner that is not cached costs
// nothing.
func (c *cache) invalidate(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.bucket(owner)++
	if s := c.owners[owner]; s != nil {
		c.removeLocked(s)
	}
}

// invalidateAll drops every snapshot, and makes every fill under way
// store nothing.
func (c *cache) invalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.owners)
	c.digests.clear()
}

// gone drops the owner's snapshot after a read under ticket t found that
// the store no longer has the owner, unless an invalidation came since.
func (c *cache) gone(owner string, t ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.owners[owner]; s != nil && c.ticketLocked(owner) == t {
		c.removeLocked(s)
	}
}

// update replaces the owner's cached snapshot, if there is one, by what
// change makes of it, or leaves it if change returns nil. change runs
// without the lock, on a snapshot that may be replaced meanwhile: then it
// runs again on the one that replaced it, a few times at most. The
// replacement ends the fills under way for the owner's bucket, which
// might lack what it shows.
func (c *cache) update(owner string, change func(*snapshot) *snapshot) {
	for range 3 {
		c.mu.Lock()
		cur := c.owners[owner]
		c.mu.Unlock()
		if cur == nil {
			return
		}
		next := change(cur)
		if next == nil {
			return
		}
		c.mu.Lock()
		if c.owners[owner] == cur {
			*c.bucket(owner)++
			c.putLocked(next, cur)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// len returns how many owners are cached.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.owners)
}

// putLocked stores s in place of cur (nil if its owner has none), as the
// most recently used, and evicts owners beyond max.
func (c *cache) putLocked(s, cur *snapshot) {
	if cur != nil {
		c.unindexLocked(cur)
	}
	c.owners[s.owner()] = s // a substring of the snapshot, no copy
	c.touchLocked(s)
	c.indexLocked(s)
	for len(c.owners) > c.max {
		victim := c.victimLocked()
		*c.bucket(victim.owner())++ // a fill under way may hold an older version than the one evicted
		c.removeLocked(victim)
	}
}

// evictSample is how many cached owners an eviction compares.
const evictSample = 16

// victimLocked returns the least recently used of evictSample cached
// owners, taken where a range over the map starts, which is at random;
// of all of them when there are no more. The snapshot just stored is the
// most recently used, and never the one returned while another is
// cached.
func (c *cache) victimLocked() *snapshot {
	var victim *snapshot
	n := 0
	for _, s := range c.owners {
		if victim == nil || s.used < victim.used {
			victim = s
		}
		if n++; n == evictSample {
			break
		}
	}
	return victim
}

// removeLocked takes s, which is cached, out of the cache.
func (c *cache) removeLocked(s *snapshot) {
	delete(c.owners, s.owner())
	c.unindexLocked(s)
}

func (c *cache) indexLocked(s *snapshot) {
	s.p.digests(func(d secrets.Digest) { c.digests.put(short(d), s) })
}

// unindexLocked removes the digests of s, but those another snapshot has
// taken: an owner's next snapshot shares most of them.
func (c *cache) unindexLocked(s *snapshot) {
	s.p.digests(func(d secrets.Digest) { c.digests.remove(short(d), s) })
}

// short returns what the index keys d by. A SHA-256 digest is uniform in
// each of its bytes, so any 8 of them will do.
func short(d secrets.Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }

// touchLocked makes s the most recently used.
func (c *cache) touchLocked(s *snapshot) {
	c.uses++
	s.used = c.uses
}

// snapshot returns the owner's keyset as cached, or as read from the store
// when no copy may be served, which is then cached. An owner the store
// does not know gives its error, matching store.ErrNotFound, and is not
// cached.
func (r *Rotator) snapshot(ctx context.Context, owner string) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, t := r.cache.get(owner, r.set.now())
	if s != nil {
		return s, nil
	}
	return r.fill(ctx, owner, t)
}

// reload reads the owner's keyset from the store whatever is cached, and
// caches it: a lookup found a key that the cached copy lacks.
func (r *Rotator) reload(ctx context.Context, owner string) (*snapshot, error) {
	return r.fill(ctx, owner, r.cache.ticket(owner))
}

// fill reads the owner's keyset and offers it to the cache under t. What
// it read is returned even when the cache may not store it: it is at
// least as fresh as anything the caller could be given.
func (r *Rotator) fill(ctx context.Context, owner string, t ticket) (*snapshot, error) {
	readAt := r.set.now()
	ks, err := r.st.Load(ctx, owner)
	if errors.Is(err, store.ErrNotFound) {
		r.cache.gone(owner, t)
	}
	if err != nil {
		return nil, err
	}
	s := newSnapshot(&ks, readAt)
	r.cache.offer(s, t)
	return s, nil
}

// loadFresh reads the owner's keyset from the store, past the cache, for
// a change to start from. When the cache holds an older version, the
// read replaces it: a caller told that a change cannot be made (a stale
// value, a limit reached) then lists what it was refused on.
func (r *Rotator) loadFresh(ctx context.Context, owner string) (store.Keyset, error) {
	t, readAt := r.cache.ticket(owner), r.set.now()
	ks, err := r.st.Load(ctx, owner)
	if err == nil && r.cache.older(owner, ks.Version) {
		r.cache.offer(newSnapshot(&ks, readAt), t)
	}
	return ks, err
}

// installSaved caches ks, just saved at version ks.Version+1 by a change
// made at instant at.
func (r *Rotator) installSaved(ks *store.Keyset, at time.Time) {
	s := newSnapshot(ks, at)
	s.version++
	r.cache.install(s)
	if ks.Version == 0 {
		// The owner's first save: it is no longer one the store lacks.
		r.misses.forget(ownerDigest(ks.Owner))
	}
}

// showUses replaces the cached snapshots of the owners of uses, which the
// store has just recorded, by copies that show them, so that what is
// listed after a write is never older than what was listed before it.
func (r *Rotator) showUses(uses []store.Use) {
	byOwner := make(map[string][]store.Use)
	for _, u := range uses {
		byOwner[u.Owner] = append(byOwner[u.Owner], u)
	}
	for owner, uses := range byOwner {
		r.cache.update(owner, func(cur *snapshot) *snapshot {
			ks := cur.keyset()
			changed := false
			for _, u := range uses {
				if ks.RecordUse(u) {
					changed = true
				}
			}
			if !changed {
				return nil
			}
			next := newSnapshot(&ks, cur.readAt)
			next.keys.Store(cur.keys.Load()) // uses change no key
			return next
		})
	}
}
