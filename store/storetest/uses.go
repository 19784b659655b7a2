package storetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
)

var (
	ipv4 = netip.MustParseAddr("198.51.100.23")
	ipv6 = netip.MustParseAddr("2001:db8:4006:812::200e")
)

// use returns a use of the value of owner's key at d after base.
func use(owner, key, value string, d time.Duration, ip netip.Addr) store.Use {
	return store.Use{Owner: owner, KeyID: key, ValueID: value, At: at(d), IP: ip}
}

func testRecordUsesBatch(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	acme := keyset("acme", 0, key("a1"), fullKey("a2"), key("a3"))
	globex := keyset("globex", 0, key("g1"))
	save(t, s, acme)
	save(t, s, globex)

	err := s.RecordUses(t.Context(), []store.Use{
		use("acme", "a1", "a1.v0", 2*time.Hour, ipv4),
		use("acme", "a2", "a2.p1", 30*24*time.Hour, ipv6), // a previous value: its key was used too
		use("acme", "a2", "a2.v0", 3*time.Hour, ipv4),
		use("globex", "g1", "g1.v0", 3*time.Hour, ipv6),
		use("acme", "a1", "a1.v0", time.Hour, ipv6), // older than the first use of a1
		use("nobody", "a1", "a1.v0", 4*time.Hour, ipv4),
		use("acme", "gone", "gone.v0", 4*time.Hour, ipv4),
		use("acme", "a3", "a1.v0", 4*time.Hour, ipv4), // a value of another key
		use("acme", "a3", "gone", 4*time.Hour, ipv4),
		use("globex", "a1", "a1.v0", 4*time.Hour, ipv4),
	})
	is.NoErr(err) // uses of unknown owners, keys and values are ignored, not refused

	acme = saved(acme)
	a1, a2 := &acme.Keys[0], &acme.Keys[1]
	a1.LastUsedAt, a1.LastUsedIP = at(2*time.Hour), ipv4
	a1.Current.LastUsedAt, a1.Current.LastUsedIP = at(2*time.Hour), ipv4
	a2.LastUsedAt, a2.LastUsedIP = at(30*24*time.Hour), ipv6
	a2.Current.LastUsedAt, a2.Current.LastUsedIP = at(3*time.Hour), ipv4
	a2.Previous[0].LastUsedAt, a2.Previous[0].LastUsedIP = at(30*24*time.Hour), ipv6
	globex = saved(globex)
	g1 := &globex.Keys[0]
	g1.LastUsedAt, g1.LastUsedIP = at(3*time.Hour), ipv6
	g1.Current.LastUsedAt, g1.Current.LastUsedIP = at(3*time.Hour), ipv6
	checkKeyset(t, acme, load(t, s, "acme")) // the latest use of each value and of each key, at the same version
	checkKeyset(t, globex, load(t, s, "globex"))

	for _, ks := range []store.Keyset{acme, globex} {
		for _, want := range ks.Keys {
			checkKey(t, want, lookup(t, s, want.Current.Digest).Key)
		}
	}

	is.NoErr(s.RecordUses(t.Context(), nil)) // an empty batch is no error
	checkKeyset(t, acme, load(t, s, "acme"))
}

func testRecordUsesNeverMoveBack(t *testing.T, newStore func(t *testing.T) store.Store) {
	usedAt := func(r store.Record, d time.Duration, ip netip.Addr) store.Record {
		r.LastUsedAt, r.LastUsedIP = at(d), ip
		r.Current.LastUsedAt, r.Current.LastUsedIP = at(d), ip
		return r
	}
	tests := []struct {
		name   string
		stored store.Record  // saved first
		uses   [][]store.Use // batches, recorded in order
	}{
		{
			name:   "LaterBatch",
			stored: key("a1"),
			uses: [][]store.Use{
				{use("acme", "a1", "a1.v0", 2*time.Hour, ipv4)},
				{use("acme", "a1", "a1.v0", time.Hour, ipv6)},
			},
		},
		{
			name:   "SameBatch",
			stored: key("a1"),
			uses: [][]store.Use{{
				use("acme", "a1", "a1.v0", 2*time.Hour, ipv4),
				use("acme", "a1", "a1.v0", time.Hour, ipv6),
			}},
		},
		{
			name:   "OlderThanSaved",
			stored: usedAt(key("a1"), 2*time.Hour, ipv4),
			uses:   [][]store.Use{{use("acme", "a1", "a1.v0", time.Hour, ipv6)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := newStore(t)
			save(t, s, keyset("acme", 0, tt.stored))
			for _, batch := range tt.uses {
				is.NoErr(s.RecordUses(t.Context(), batch)) // recording uses works
			}

			got := load(t, s, "acme").Keys[0]
			is.True(got.LastUsedAt.Equal(at(2 * time.Hour)))         // an older use does not move the key's LastUsedAt back
			is.Equal(got.LastUsedIP, ipv4)                           // nor change the address of its latest use
			is.True(got.Current.LastUsedAt.Equal(at(2 * time.Hour))) // nor the value's
			is.Equal(got.Current.LastUsedIP, ipv4)
			is.Equal(load(t, s, "acme").Version, int64(1)) // and no use changes the version
		})
	}
}

func testSaveKeepsRecordedUse(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0, fullKey("a1"), key("a2")))
	stale := load(t, s, "acme") // read before the uses are recorded

	err := s.RecordUses(t.Context(), []store.Use{
		use("acme", "a1", "a1.p1", 40*24*time.Hour, ipv4),
		use("acme", "a2", "a2.v0", 40*24*time.Hour, ipv6),
	})
	is.NoErr(err) // recording uses works

	stale.Keys[0].Name = "renamed"
	stale.Keys[1].LastUsedAt, stale.Keys[1].LastUsedIP = at(time.Hour), ipv4
	stale.Keys[1].Current.LastUsedAt, stale.Keys[1].Current.LastUsedIP = at(time.Hour), ipv4
	save(t, s, stale)
	want := saved(stale)
	a1, a2 := &want.Keys[0], &want.Keys[1]
	a1.LastUsedAt, a1.LastUsedIP = at(40*24*time.Hour), ipv4
	a1.Previous[0].LastUsedAt, a1.Previous[0].LastUsedIP = at(40*24*time.Hour), ipv4
	a2.LastUsedAt, a2.LastUsedIP = at(40*24*time.Hour), ipv6
	a2.Current.LastUsedAt, a2.Current.LastUsedIP = at(40*24*time.Hour), ipv6
	checkKeyset(t, want, load(t, s, "acme")) // a save from an older read keeps the recorded uses, of keys and of values

	// Rotate a2 as package rotation does: the value keeps its use when it
	// becomes a previous one.
	next := load(t, s, "acme")
	old := next.Keys[1].Current
	old.ExpiresAt = at(41 * 24 * time.Hour)
	next.Keys[1].Previous = []store.Value{old}
	next.Keys[1].Current = value("a2.v1")
	save(t, s, next)
	checkKeyset(t, saved(next), load(t, s, "acme"))

	later := load(t, s, "acme")
	later.Keys[0].LastUsedAt, later.Keys[0].LastUsedIP = at(50*24*time.Hour), ipv6
	later.Keys[0].Previous[0].LastUsedAt, later.Keys[0].Previous[0].LastUsedIP = at(50*24*time.Hour), ipv6
	save(t, s, later)
	checkKeyset(t, saved(later), load(t, s, "acme")) // a save that carries a later use wins
	checkKey(t, later.Keys[0], lookup(t, s, digest("a1")).Key)
}

// A use recorded for a value after the keyset was read stays the key's
// last use when a save from that read removes the value, as package
// rotation's saves remove a previous value whose grace window ended.
func testSaveKeepsUseOfRemovedValue(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0, fullKey("a1"), key("a2")))
	stale := load(t, s, "acme")

	err := s.RecordUses(t.Context(), []store.Use{
		use("acme", "a1", "a1.p1", 40*24*time.Hour, ipv6),
		use("acme", "a1", "a1.v0", 39*24*time.Hour, ipv4),
		use("acme", "a2", "a2.v0", 38*24*time.Hour, ipv4),
	})
	is.NoErr(err) // recording uses works

	stale.Keys[0].Previous = nil // the previous value's window ended
	stale.Keys = stale.Keys[:1]  // and a2 is deleted
	save(t, s, stale)
	want := saved(stale)
	a1 := &want.Keys[0]
	a1.LastUsedAt, a1.LastUsedIP = at(40*24*time.Hour), ipv6 // the removed value's use
	a1.Current.LastUsedAt, a1.Current.LastUsedIP = at(39*24*time.Hour), ipv4
	checkKeyset(t, want, load(t, s, "acme")) // the key keeps the latest use, of a value it no longer has
	checkKey(t, want.Keys[0], lookup(t, s, digest("a1")).Key)

	next := load(t, s, "acme")
	next.Keys[0].Name = "renamed"
	save(t, s, next)
	checkKeyset(t, saved(next), load(t, s, "acme")) // and keeps it through later saves
}
