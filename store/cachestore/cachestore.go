package cachestore

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// The defaults that zero fields of [Options] stand for.
const (
	DefaultMaxAge         = 30 * time.Second
	DefaultPollInterval   = 2 * time.Second
	DefaultReloadInterval = time.Second
	DefaultMissTTL        = time.Second
	DefaultMaxMisses      = 10_000
	DefaultListenRetry    = time.Second
)

// Options configures a [Store]. A nil *Options, and every zero field,
// means the default.
type Options struct {
	// MaxAge is how long a copy of a keyset is served before it is read
	// again, whatever [Store.Run] has heard: the staleness bound when Run
	// does not run, or cannot reach the store. 0 means [DefaultMaxAge].
	MaxAge time.Duration

	// PollInterval is how often [Store.Run] asks the store which owners
	// changed. 0 means [DefaultPollInterval].
	PollInterval time.Duration

	// ReloadInterval is the least time between two reloads of one owner
	// that lookups force, when the store knows a key that the owner's
	// cached keyset lacks. 0 means [DefaultReloadInterval].
	ReloadInterval time.Duration

	// MissTTL is how long a digest the store does not know is answered
	// "not found" without asking it again. 0 means [DefaultMissTTL];
	// negative means unknown digests are not remembered.
	MissTTL time.Duration

	// MaxMisses bounds how many unknown digests are remembered; beyond
	// it, the oldest are forgotten first. 0 means [DefaultMaxMisses].
	MaxMisses int

	// ListenRetry is how long [Store.Run] waits before listening again
	// after the store's notifications stop. 0 means [DefaultListenRetry].
	ListenRetry time.Duration

	// Now returns the current time; nil means [time.Now]. Tests set it to
	// a clock they step.
	Now func() time.Time

	// Logger receives what Run cannot report as an error: failed polls
	// and lost notifications. nil discards them.
	Logger *slog.Logger
}

// OptionError reports an [Options] field out of range.
type OptionError struct {
	Field  string // the name of the field, such as "MaxAge"
	Reason string // what is wrong with it
}

// Error returns "cachestore: invalid option Field: reason".
func (e *OptionError) Error() string {
	return "cachestore: invalid option " + e.Field + ": " + e.Reason
}

// Store is a [store.Store] that keeps copies of another store's keysets
// in memory. It is safe for concurrent use. Make one with [New].
type Store struct {
	inner    store.Store
	changes  store.ChangeLog // inner, if it keeps a change log
	notifier store.Notifier  // inner, if it can notify
	set      settings

	// owners maps an owner to its *entry. An entry is never changed once
	// stored: a refresh stores a new one in its place.
	owners sync.Map
	// digests maps the digest of every value in a stored entry to that
	// entry. It may lag behind owners, so a lookup checks that the entry
	// it finds is still the owner's.
	digests sync.Map
	// epoch counts InvalidateAll calls. An entry read before the latest
	// one is stale, however it got into owners.
	epoch atomic.Uint64

	misses misses

	subsMu sync.Mutex
	subs   atomic.Pointer[[]func(owner string)] // replaced under subsMu, read without it

	pollMu sync.Mutex // serializes polls, and guards cursor
	cursor string     // where the next poll asks from; "" before the first
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Invalidator = (*Store)(nil)
)

// entry is one owner's keyset as read at one instant. Nothing of it
// changes once stored, except that it may be marked gone.
type entry struct {
	ks     store.Keyset // shared by every reader: cloned on the way out
	loaded time.Time    // by the Store's clock
	epoch  uint64       // Store.epoch when the read began
	// gone is set, never to be cleared, when the entry leaves owners:
	// that lets a lookup trust an entry found by digest without looking
	// its owner up too. The mark an invalidation leaves in owners is an
	// empty entry born gone: a fill that began before it cannot replace
	// it, so a copy read before a change is never stored after it.
	gone atomic.Bool
}

// goneMark returns a new mark for an invalidation to leave in owners.
func goneMark() *entry {
	e := new(entry)
	e.gone.Store(true)
	return e
}

type settings struct {
	maxAge, pollInterval, reloadInterval, missTTL, listenRetry time.Duration
	maxMisses                                                  int
	now                                                        func() time.Time
	log                                                        *slog.Logger
}

// New returns a Store that caches inner. It starts no goroutine: call
// [Store.Run] to hear of changes other processes make. It returns an
// [*OptionError] for options out of range, and panics if inner is nil.
func New(inner store.Store, opts *Options) (*Store, error) {
	if inner == nil {
		panic("cachestore: New with a nil store")
	}
	set, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{inner: inner, set: set}
	s.changes, _ = inner.(store.ChangeLog)
	s.notifier, _ = inner.(store.Notifier)
	s.misses.init(set.maxMisses, set.missTTL)
	return s, nil
}

func resolve(o *Options) (settings, error) {
	if o == nil {
		o = &Options{}
	}
	var set settings
	for _, d := range []struct {
		field    string
		val, def time.Duration
		dst      *time.Duration
	}{
		{"MaxAge", o.MaxAge, DefaultMaxAge, &set.maxAge},
		{"PollInterval", o.PollInterval, DefaultPollInterval, &set.pollInterval},
		{"ReloadInterval", o.ReloadInterval, DefaultReloadInterval, &set.reloadInterval},
		{"ListenRetry", o.ListenRetry, DefaultListenRetry, &set.listenRetry},
	} {
		if d.val < 0 {
			return settings{}, &OptionError{Field: d.field, Reason: "must not be negative"}
		}
		*d.dst = cmp.Or(d.val, d.def)
	}
	if o.MaxMisses < 0 {
		return settings{}, &OptionError{Field: "MaxMisses", Reason: "must not be negative"}
	}
	set.maxMisses = cmp.Or(o.MaxMisses, DefaultMaxMisses)
	set.missTTL = max(0, cmp.Or(o.MissTTL, DefaultMissTTL)) // negative: remember none
	set.now = o.Now
	if set.now == nil {
		set.now = time.Now
	}
	set.log = o.Logger
	if set.log == nil {
		set.log = slog.New(slog.DiscardHandler)
	}
	return set, nil
}

// fresh reports whether e may be served at now.
func (s *Store) fresh(e *entry, now time.Time) bool {
	return !e.gone.Load() && e.epoch == s.epoch.Load() && now.Sub(e.loaded) < s.set.maxAge
}

// current returns the owner's entry if it may be served at now.
func (s *Store) current(owner string, now time.Time) (*entry, bool) {
	v, ok := s.owners.Load(owner)
	if !ok {
		return nil, false
	}
	e := v.(*entry)
	return e, s.fresh(e, now)
}

// Load returns the owner's keyset from the cache when a fresh copy is
// there, and otherwise reads it from the inner store and keeps a copy.
// An owner the inner store does not know is not remembered.
func (s *Store) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if err := ctx.Err(); err != nil {
		return store.Keyset{}, &store.OpError{Op: "load", Owner: owner, Err: err}
	}
	if e, ok := s.current(owner, s.set.now()); ok {
		return e.ks.Clone(), nil
	}
	e, err := s.fill(ctx, owner)
	if err != nil {
		return store.Keyset{}, err
	}
	return e.ks.Clone(), nil
}

// fill reads the owner's keyset from the inner store and stores a new
// entry for it, unless an invalidation or another fill replaced the entry
// it started from meanwhile. It returns the new entry either way: what it
// read is at least as fresh as anything the caller could be given.
func (s *Store) fill(ctx context.Context, owner string) (*entry, error) {
	prev, had := s.owners.Load(owner)
	epoch := s.epoch.Load()
	ks, err := s.inner.Load(ctx, owner)
	if err != nil {
		return nil, err
	}
	e := &entry{ks: ks, loaded: s.set.now(), epoch: epoch}
	var stored bool
	if had {
		stored = s.owners.CompareAndSwap(owner, prev, e)
	} else {
		_, loaded := s.owners.LoadOrStore(owner, e)
		stored = !loaded
	}
	if !stored {
		return e, nil
	}
	// An invalidation may take e out of owners before these are stored.
	// It marks e gone first, so lookups that find e through them pass it
	// by, and the first to do so removes the digest.
	s.index(e)
	if had {
		s.unindex(prev.(*entry))
	}
	return e, nil
}

// index points the digest of every value in e at e.
func (s *Store) index(e *entry) {
	for i := range e.ks.Keys {
		for v := range e.ks.Keys[i].Values() {
			s.digests.Store(v.Digest, e)
		}
	}
}

// unindex marks an entry no longer stored as gone and removes its
// digests, leaving those a newer entry has taken.
func (s *Store) unindex(e *entry) {
	e.gone.Store(true)
	for i := range e.ks.Keys {
		for v := range e.ks.Keys[i].Values() {
			s.digests.CompareAndDelete(v.Digest, e)
		}
	}
}

// Lookup finds the key that has a value whose digest is d. A digest of a fresh
// cached keyset is answered from memory. Any other is asked of the inner
// store, and then:
//   - a digest it does not know is remembered as unknown for
//     Options.MissTTL (among at most Options.MaxMisses of them);
//   - a digest it knows brings its owner's keyset into the cache: read
//     at once if none is cached, or if the cached one lacks the key and
//     was read more than Options.ReloadInterval ago.
//
// So a key created by another process is found at once, and a flood of
// made-up keys costs one inner lookup each and no reloads.
func (s *Store) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if err := ctx.Err(); err != nil {
		return store.Match{}, &store.OpError{Op: "lookup", Err: err}
	}
	now := s.set.now()
	if v, ok := s.digests.Load(d); ok {
		e := v.(*entry)
		if s.fresh(e, now) {
			if i := indexOf(&e.ks, d); i >= 0 {
				return e.ks.Match(i), nil
			}
		} else if e.gone.Load() {
			s.digests.CompareAndDelete(d, e) // left behind by a replaced entry
		}
	}
	if s.misses.has(d, now) {
		return store.Match{}, &store.OpError{Op: "lookup", Err: store.ErrNotFound}
	}
	m, err := s.inner.Lookup(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		s.misses.add(d, now)
	}
	if err != nil {
		return store.Match{}, err
	}
	owner := m.Owner
	if s.shouldReload(owner, d, now) {
		if _, err := s.fill(ctx, owner); err != nil {
			// The lookup stands: it came from the store itself.
			s.set.log.DebugContext(ctx, "cachestore: reload after lookup failed", "owner", owner, "err", err)
		}
	}
	return m, nil
}

// shouldReload reports whether a lookup the inner store answered with a
// record of owner should refresh the owner's cached keyset.
func (s *Store) shouldReload(owner string, d secrets.Digest, now time.Time) bool {
	e, ok := s.current(owner, now)
	if !ok {
		return true // nothing fresh cached: this is the first read
	}
	if indexOf(&e.ks, d) >= 0 {
		return false // cached already; the index was a step behind
	}
	return now.Sub(e.loaded) >= s.set.reloadInterval
}

// indexOf returns the index of the key of ks that has a value whose
// digest is d, or -1. Every digest is compared in constant time.
func indexOf(ks *store.Keyset, d secrets.Digest) int {
	found := -1
	for i := range ks.Keys {
		for v := range ks.Keys[i].Values() {
			if v.Digest.Equal(d) {
				found = i
			}
		}
	}
	return found
}

// Save saves ks in the inner store and then drops the cached copy of its
// owner, whether the save worked, lost a race (so that a retry reads the
// newer keyset) or failed midway, and forgets that its digests were
// unknown.
func (s *Store) Save(ctx context.Context, ks store.Keyset) error {
	err := s.inner.Save(ctx, ks)
	for i := range ks.Keys {
		for v := range ks.Keys[i].Values() {
			s.misses.forget(v.Digest)
		}
	}
	s.Invalidate(ks.Owner)
	return err
}

// RecordUses passes uses to the inner store and, once it has kept them,
// shows them in the cached copies of their owners: each such copy is
// replaced by one with the later uses. Uses recorded by other processes
// are seen when the copy is next read.
func (s *Store) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := s.inner.RecordUses(ctx, uses); err != nil {
		return err
	}
	byOwner := make(map[string][]store.Use)
	for _, u := range uses {
		byOwner[u.Owner] = append(byOwner[u.Owner], u)
	}
	now := s.set.now()
	for owner, uses := range byOwner {
		s.withUses(owner, uses, now)
	}
	return nil
}

// withUses replaces the owner's fresh cached copy, if there is one, by a
// copy that shows uses. If an invalidation or a fill replaces the copy
// meanwhile, that one stands.
func (s *Store) withUses(owner string, uses []store.Use, now time.Time) {
	cur, ok := s.current(owner, now)
	if !ok {
		return
	}
	next := &entry{ks: cur.ks.Clone(), loaded: cur.loaded, epoch: cur.epoch}
	changed := false
	for _, u := range uses {
		if next.ks.RecordUse(u) {
			changed = true
		}
	}
	if !changed || !s.owners.CompareAndSwap(owner, cur, next) {
		return
	}
	s.index(next)
	s.unindex(cur) // marks it gone; its digests are next's now
}

// Invalidate drops the cached copy of the owner's keyset, so that the next
// read goes to the inner store, and then calls the functions registered
// with [Store.OnInvalidate]. A read already under way when Invalidate is
// called is not cached.
func (s *Store) Invalidate(owner string) {
	if owner == "" {
		s.InvalidateAll()
		return
	}
	if prev, had := s.owners.Swap(owner, goneMark()); had {
		s.unindex(prev.(*entry))
	}
	s.notify(owner)
}

// InvalidateAll drops every cached keyset and then calls the functions
// registered with [Store.OnInvalidate] with "". Unknown digests stay
// remembered for the rest of their Options.MissTTL.
func (s *Store) InvalidateAll() {
	s.epoch.Add(1)
	// Entries stored from here on by reads begun before are stale by their
	// epoch, so clearing cannot let an old read back in.
	s.owners.Clear()
	s.digests.Clear()
	s.notify("")
}

// OnInvalidate registers fn to be called after the Store drops a cached
// keyset: with the owner, or with "" when it drops them all. fn runs on
// the goroutine that caused the drop, with no lock held.
func (s *Store) OnInvalidate(fn func(owner string)) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	var next []func(string)
	if cur := s.subs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, fn)
	s.subs.Store(&next)
}

func (s *Store) notify(owner string) {
	if subs := s.subs.Load(); subs != nil {
		for _, fn := range *subs {
			fn(owner)
		}
	}
}
