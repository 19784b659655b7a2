package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Store is an in-memory [store.Store]. It is safe for concurrent use. The
// zero value is an empty store ready to use; [New] returns one too. A Store
// must not be copied after first use.
type Store struct {
	mu sync.RWMutex // guards owners, digests and every keyset they point to
	// owners holds each owner's keyset; the store alone references them.
	owners map[string]*store.Keyset
	// digests finds the key that holds a value's digest.
	digests map[secrets.Digest]ref
}

// ref names one key in the store.
type ref struct {
	owner string
	id    string
}

var _ store.OwnerLister = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		owners:  make(map[string]*store.Keyset),
		digests: make(map[secrets.Digest]ref),
	}
}

// Load returns a deep copy of the owner's keyset, or an error matching
// [store.ErrNotFound] if the owner has never been saved.
func (s *Store) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if err := ctx.Err(); err != nil {
		return store.Keyset{}, &store.OpError{Op: "load", Owner: owner, Err: err}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ks, ok := s.owners[owner]
	if !ok {
		return store.Keyset{}, &store.OpError{Op: "load", Owner: owner, Err: store.ErrNotFound}
	}
	return ks.Clone(), nil
}

// Save stores a deep copy of ks with version ks.Version+1 if the stored
// version of ks.Owner is still ks.Version (0 for a new owner), and updates
// the digest index in the same step. It refuses a keyset that
// [store.Keyset.Validate] refuses ([store.ErrInvalid]); one that gives a
// value a digest held by another owner's value, or by a value this save
// removes ([store.ErrDuplicate]); and one whose version is stale
// ([store.ErrConflict]). A refused save changes nothing.
//
// A recorded use survives a save that carries an older one: when the
// stored key, or value, with the same id was last used later than ks
// says, its LastUsedAt and LastUsedIP are kept.
func (s *Store) Save(ctx context.Context, ks store.Keyset) error {
	if err := ctx.Err(); err != nil {
		return &store.OpError{Op: "save", Owner: ks.Owner, Err: err}
	}
	if err := ks.Validate(); err != nil {
		return &store.OpError{Op: "save", Owner: ks.Owner, Err: err}
	}
	// Copy before taking the lock: the caller's keyset cannot change the
	// store's after this line, and the critical section stays short.
	next := ks.Clone()
	next.Version = ks.Version + 1

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.owners[ks.Owner]
	var version int64
	if old != nil {
		version = old.Version
	}
	if version != ks.Version {
		return &store.OpError{Op: "save", Owner: ks.Owner, Err: store.ErrConflict}
	}
	for i := range next.Keys {
		r := &next.Keys[i]
		for v := range r.Values() {
			if held, ok := s.digests[v.Digest]; ok && held != (ref{ks.Owner, r.ID}) {
				return &store.OpError{Op: "save", Owner: ks.Owner,
					Err: fmt.Errorf("%w: key %q has a value whose digest is already in use", store.ErrDuplicate, r.ID)}
			}
		}
	}

	if s.owners == nil {
		s.owners = make(map[string]*store.Keyset)
		s.digests = make(map[secrets.Digest]ref)
	}
	if old != nil {
		for i := range old.Keys {
			prev := &old.Keys[i]
			for v := range prev.Values() {
				delete(s.digests, v.Digest)
			}
			if j := next.Find(prev.ID); j >= 0 {
				keepUses(&next.Keys[j], prev)
			}
		}
	}
	for i := range next.Keys {
		for v := range next.Keys[i].Values() {
			s.digests[v.Digest] = ref{ks.Owner, next.Keys[i].ID}
		}
	}
	s.owners[ks.Owner] = &next
	return nil
}

// keepUses carries into next the uses stored in prev, the same key as
// stored, that are later than those next carries.
func keepUses(next, prev *store.Record) {
	if prev.LastUsedAt.After(next.LastUsedAt) {
		next.LastUsedAt, next.LastUsedIP = prev.LastUsedAt, prev.LastUsedIP
	}
	for pv := range prev.Values() {
		if nv := next.Value(pv.ID); nv != nil && pv.LastUsedAt.After(nv.LastUsedAt) {
			nv.LastUsedAt, nv.LastUsedIP = pv.LastUsedAt, pv.LastUsedIP
		}
	}
}

// Lookup returns the owner and a deep copy of the key that has a value
// whose digest is d, or an error matching [store.ErrNotFound].
func (s *Store) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if err := ctx.Err(); err != nil {
		return store.Match{}, &store.OpError{Op: "lookup", Err: err}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	held, ok := s.digests[d]
	if !ok {
		return store.Match{}, &store.OpError{Op: "lookup", Err: store.ErrNotFound}
	}
	ks := s.owners[held.owner]
	// Save keeps the index and the keysets in step under the lock, so the
	// key is there; the search is linear only in the owner's few keys.
	return ks.Match(ks.Find(held.id)), nil
}

// RecordUses sets LastUsedAt and LastUsedIP of each named value, and of
// its key, to its latest use, leaving every version as it is. Uses of
// unknown owners, keys or values, and uses no later than the one stored,
// are ignored.
func (s *Store) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := ctx.Err(); err != nil {
		return &store.OpError{Op: "record uses", Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range uses {
		if ks, ok := s.owners[u.Owner]; ok {
			ks.RecordUse(u)
		}
	}
	return nil
}

// Owners returns at most limit owners saved at least once whose names
// sort after after, in the byte order of their names, as
// [store.OwnerLister] asks. It sorts every owner's name, so a scan of all
// costs what is stored for each page: memstore is not a [store.DueLister]
// on purpose, so that package rotation's fallback sweep, which reads every
// keyset, has a backend that runs it. A limit below 1 returns none.
func (s *Store) Owners(ctx context.Context, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, &store.OpError{Op: "owners", Err: err}
	}
	if limit < 1 {
		return nil, nil
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.owners))
	for o := range s.owners {
		if o > after {
			names = append(names, o)
		}
	}
	s.mu.RUnlock()
	slices.Sort(names)
	return names[:min(limit, len(names))], nil
}
