package memstore

import (
	"context"
	"fmt"
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
	// digests finds the record that holds a key digest.
	digests map[secrets.Digest]ref
}

// ref names one record in the store.
type ref struct {
	owner string
	id    string
}

var _ store.Store = (*Store)(nil)

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
// the digest index in the same step. It refuses a keyset without an owner,
// with a negative version, or with a record that lacks an id or a digest
// ([store.ErrInvalid]); one that repeats an id or a digest, or uses a
// digest held by any other record in the store, even one this save removes
// ([store.ErrDuplicate]); and one whose version is stale
// ([store.ErrConflict]). A refused save changes nothing.
//
// A recorded use survives a save that carries an older one: when the
// stored record with the same id was last used later than ks says, its
// LastUsedAt and LastUsedIP are kept.
func (s *Store) Save(ctx context.Context, ks store.Keyset) error {
	if err := ctx.Err(); err != nil {
		return &store.OpError{Op: "save", Owner: ks.Owner, Err: err}
	}
	if err := validate(&ks); err != nil {
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
	for i := range next.Secrets {
		r := &next.Secrets[i]
		if held, ok := s.digests[r.Digest]; ok && held != (ref{ks.Owner, r.ID}) {
			return &store.OpError{Op: "save", Owner: ks.Owner,
				Err: fmt.Errorf("%w: record %q has a digest already in use", store.ErrDuplicate, r.ID)}
		}
	}

	if s.owners == nil {
		s.owners = make(map[string]*store.Keyset)
		s.digests = make(map[secrets.Digest]ref)
	}
	if old != nil {
		for i := range old.Secrets {
			prev := &old.Secrets[i]
			delete(s.digests, prev.Digest)
			if j := find(&next, prev.ID); j >= 0 && prev.LastUsedAt.After(next.Secrets[j].LastUsedAt) {
				next.Secrets[j].LastUsedAt = prev.LastUsedAt
				next.Secrets[j].LastUsedIP = prev.LastUsedIP
			}
		}
	}
	for i := range next.Secrets {
		s.digests[next.Secrets[i].Digest] = ref{ks.Owner, next.Secrets[i].ID}
	}
	s.owners[ks.Owner] = &next
	return nil
}

// validate checks what Save can check without the store: an owner, a
// version that can have been read, and records with distinct ids and
// distinct, non-zero digests.
func validate(ks *store.Keyset) error {
	if ks.Owner == "" {
		return fmt.Errorf("%w: no owner", store.ErrInvalid)
	}
	if ks.Version < 0 {
		return fmt.Errorf("%w: negative version %d", store.ErrInvalid, ks.Version)
	}
	ids := make(map[string]struct{}, len(ks.Secrets))
	digests := make(map[secrets.Digest]struct{}, len(ks.Secrets))
	for i := range ks.Secrets {
		r := &ks.Secrets[i]
		if r.ID == "" {
			return fmt.Errorf("%w: record %d has no id", store.ErrInvalid, i)
		}
		if r.Digest.IsZero() {
			return fmt.Errorf("%w: record %q has no digest", store.ErrInvalid, r.ID)
		}
		if _, ok := ids[r.ID]; ok {
			return fmt.Errorf("%w: id %q appears twice", store.ErrDuplicate, r.ID)
		}
		ids[r.ID] = struct{}{}
		// The message names the record, never the digest.
		if _, ok := digests[r.Digest]; ok {
			return fmt.Errorf("%w: record %q repeats the digest of another record", store.ErrDuplicate, r.ID)
		}
		digests[r.Digest] = struct{}{}
	}
	return nil
}

// Lookup returns the owner and a deep copy of the record whose key has
// digest d, or an error matching [store.ErrNotFound].
func (s *Store) Lookup(ctx context.Context, d secrets.Digest) (owner string, rec store.Record, err error) {
	if err := ctx.Err(); err != nil {
		return "", store.Record{}, &store.OpError{Op: "lookup", Err: err}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	held, ok := s.digests[d]
	if !ok {
		return "", store.Record{}, &store.OpError{Op: "lookup", Err: store.ErrNotFound}
	}
	ks := s.owners[held.owner]
	// Save keeps the index and the keysets in step under the lock, so the
	// record is there; the search is linear only in the owner's few secrets.
	i := find(ks, held.id)
	return held.owner, ks.Secrets[i].Clone(), nil
}

// RecordUses sets LastUsedAt and LastUsedIP of each named record to its
// latest use, leaving every version as it is. Uses of unknown owners or
// records, and uses no later than the one stored, are ignored.
func (s *Store) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := ctx.Err(); err != nil {
		return &store.OpError{Op: "record uses", Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range uses {
		ks, ok := s.owners[u.Owner]
		if !ok {
			continue
		}
		i := find(ks, u.SecretID)
		if i < 0 {
			continue
		}
		if r := &ks.Secrets[i]; u.At.After(r.LastUsedAt) {
			r.LastUsedAt = u.At
			r.LastUsedIP = u.IP
		}
	}
	return nil
}

// find returns the index of the record of ks with the given id, or -1.
// Unlike [store.Keyset.Find] it copies no record, which matters on the
// lookup path.
func find(ks *store.Keyset, id string) int {
	for i := range ks.Secrets {
		if ks.Secrets[i].ID == id {
			return i
		}
	}
	return -1
}
