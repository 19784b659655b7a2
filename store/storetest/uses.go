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

func testRecordUsesBatch(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	acme := keyset("acme", 0, record("a1"), fullRecord("a2"), record("a3"))
	globex := keyset("globex", 0, record("g1"))
	save(t, s, acme)
	save(t, s, globex)

	err := s.RecordUses(t.Context(), []store.Use{
		{Owner: "acme", SecretID: "a1", At: at(2 * time.Hour), IP: ipv4},
		{Owner: "acme", SecretID: "a2", At: at(30 * 24 * time.Hour), IP: ipv6},
		{Owner: "globex", SecretID: "g1", At: at(3 * time.Hour), IP: ipv6},
		{Owner: "acme", SecretID: "a1", At: at(time.Hour), IP: ipv6}, // older than the first use of a1
		{Owner: "nobody", SecretID: "a1", At: at(4 * time.Hour), IP: ipv4},
		{Owner: "acme", SecretID: "gone", At: at(4 * time.Hour), IP: ipv4},
		{Owner: "globex", SecretID: "a1", At: at(4 * time.Hour), IP: ipv4},
	})
	is.NoErr(err) // uses of unknown owners and records are ignored, not refused

	acme = saved(acme)
	acme.Secrets[0].LastUsedAt, acme.Secrets[0].LastUsedIP = at(2*time.Hour), ipv4
	acme.Secrets[1].LastUsedAt, acme.Secrets[1].LastUsedIP = at(30*24*time.Hour), ipv6
	globex = saved(globex)
	globex.Secrets[0].LastUsedAt, globex.Secrets[0].LastUsedIP = at(3*time.Hour), ipv6
	checkKeyset(t, acme, load(t, s, "acme")) // the latest use of each record, at the same version
	checkKeyset(t, globex, load(t, s, "globex"))

	for _, ks := range []store.Keyset{acme, globex} {
		for _, want := range ks.Secrets {
			_, rec := lookup(t, s, want.Digest)
			checkRecord(t, want, rec)
		}
	}

	is.NoErr(s.RecordUses(t.Context(), nil)) // an empty batch is no error
	checkKeyset(t, acme, load(t, s, "acme"))
}

func testRecordUsesNeverMoveBack(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name   string
		stored store.Record  // saved first
		uses   [][]store.Use // batches, recorded in order
	}{
		{
			name:   "LaterBatch",
			stored: record("a1"),
			uses: [][]store.Use{
				{{Owner: "acme", SecretID: "a1", At: at(2 * time.Hour), IP: ipv4}},
				{{Owner: "acme", SecretID: "a1", At: at(time.Hour), IP: ipv6}},
			},
		},
		{
			name:   "SameBatch",
			stored: record("a1"),
			uses: [][]store.Use{{
				{Owner: "acme", SecretID: "a1", At: at(2 * time.Hour), IP: ipv4},
				{Owner: "acme", SecretID: "a1", At: at(time.Hour), IP: ipv6},
			}},
		},
		{
			name:   "OlderThanSaved",
			stored: usedAt(record("a1"), at(2*time.Hour), ipv4),
			uses: [][]store.Use{
				{{Owner: "acme", SecretID: "a1", At: at(time.Hour), IP: ipv6}},
			},
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

			got := load(t, s, "acme")
			is.True(got.Secrets[0].LastUsedAt.Equal(at(2 * time.Hour))) // an older use does not move LastUsedAt back
			is.Equal(got.Secrets[0].LastUsedIP, ipv4)                   // nor change the address of the latest use
			is.Equal(got.Version, int64(1))                             // and no use changes the version
		})
	}
}

func testSaveKeepsRecordedUse(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0, record("a1"), record("a2")))
	stale := load(t, s, "acme") // read before the use is recorded

	err := s.RecordUses(t.Context(), []store.Use{{Owner: "acme", SecretID: "a1", At: at(2 * time.Hour), IP: ipv4}})
	is.NoErr(err) // recording a use works

	stale.Secrets[0].Name = "renamed"
	stale.Secrets[1].LastUsedAt, stale.Secrets[1].LastUsedIP = at(time.Hour), ipv6
	save(t, s, stale)
	want := saved(stale)
	want.Secrets[0].LastUsedAt, want.Secrets[0].LastUsedIP = at(2*time.Hour), ipv4
	checkKeyset(t, want, load(t, s, "acme")) // a save from an older read keeps the recorded use

	older := load(t, s, "acme")
	older.Secrets[0].LastUsedAt, older.Secrets[0].LastUsedIP = at(time.Hour), ipv6
	save(t, s, older)
	want = saved(want)
	checkKeyset(t, want, load(t, s, "acme")) // a save that carries an older use keeps the later one

	later := load(t, s, "acme")
	later.Secrets[0].LastUsedAt, later.Secrets[0].LastUsedIP = at(3*time.Hour), ipv6
	save(t, s, later)
	checkKeyset(t, saved(later), load(t, s, "acme")) // a save that carries a later use wins
	_, rec := lookup(t, s, digest("a1"))
	checkRecord(t, later.Secrets[0], rec)
}

// usedAt returns r last used at t from ip.
func usedAt(r store.Record, t time.Time, ip netip.Addr) store.Record {
	r.LastUsedAt, r.LastUsedIP = t, ip
	return r
}
