package sqlstore_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// The databases that the release before this schema left behind, and
// what they hold; see testdata/v2/README.md. They are opened through
// copies only, never in place.
const (
	v2Dir    = "testdata/v2"
	v2SQLite = v2Dir + "/rotor.sqlite"
	v2PG     = v2Dir + "/postgres.sql"
	v2Keys   = v2Dir + "/keys.json"
)

// v2Record is one record of a v2 database as keys.json lists it: one row
// of the old secrets table, a new id for every regeneration.
type v2Record struct {
	Owner       string         `json:"owner"`
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Format      secrets.Format `json:"format"`
	Key         string         `json:"key"` // the plaintext
	HMAC        bool           `json:"hmac"`
	Custom      bool           `json:"custom"`
	StatusAtNow string         `json:"status_at_now"` // active, grace, revoked or expired
	Signing     bool           `json:"signing"`
	ReplacedBy  string         `json:"replaced_by"`
	ExpiresAt   time.Time      `json:"expires_at"` // of a replaced record: the end of its grace window
	RevokedAt   time.Time      `json:"revoked_at"`
	LastUsedAt  time.Time      `json:"last_used_at"`
	LastUsedIP  netip.Addr     `json:"last_used_ip"`
	CreatedAt   time.Time      `json:"created_at"`
}

// validAtNow reports whether the record's value is accepted at the
// fixture's now.
func (r *v2Record) validAtNow() bool { return r.StatusAtNow == "active" || r.StatusAtNow == "grace" }

// hint is what a value shows of itself: its last four characters.
func (r *v2Record) hint() string { return r.Key[len(r.Key)-4:] }

// v2Fixture is one database's entry in keys.json.
type v2Fixture struct {
	KEKID string     `json:"kek_id"`
	KEK   string     `json:"kek"`
	Now   time.Time  `json:"now"`
	Keys  []v2Record `json:"keys"`
}

// v2Chain is one key as the migration must make it: the records of one
// chain of regenerations, the newest (whose id the key keeps) first.
type v2Chain struct {
	Owner   string
	Records []*v2Record // newest first
}

func (c *v2Chain) head() *v2Record { return c.Records[0] }

// chains returns the fixture's chains, per owner, in the order of their
// oldest records, which is the order in which their keys were created.
func (f *v2Fixture) chains(t *testing.T) map[string][]*v2Chain {
	t.Helper()
	byID := make(map[string]*v2Record, len(f.Keys))
	for i := range f.Keys {
		byID[f.Keys[i].ID] = &f.Keys[i]
	}
	heads := make(map[string]*v2Chain)
	out := make(map[string][]*v2Chain)
	for i := range f.Keys {
		r := &f.Keys[i]
		h := r
		for steps := 0; h.ReplacedBy != ""; steps++ {
			next, ok := byID[h.ReplacedBy]
			if !ok || steps > len(f.Keys) {
				t.Fatalf("keys.json: record %s is replaced by %s, which is not listed", h.ID, h.ReplacedBy)
			}
			h = next
		}
		c, ok := heads[h.ID]
		if !ok {
			c = &v2Chain{Owner: r.Owner}
			heads[h.ID] = c
			out[r.Owner] = append(out[r.Owner], c) // at its oldest record
		}
		c.Records = append(c.Records, r)
	}
	for _, cs := range out {
		for _, c := range cs {
			// keys.json lists records oldest first; a chain goes newest first.
			slices.Reverse(c.Records)
		}
	}
	return out
}

// v2Extra are the attributes that keys.json does not list, as
// mkfixture's scenario gave them, by owner and name. Keys not named here
// have none.
var v2Extra = map[string]store.Attributes{
	"acme/ci": {
		Scopes: []string{"charges:read", "charges:write", "account:api:key:update"},
		Networks: []netip.Prefix{
			netip.MustParsePrefix("203.0.113.0/24"),
			netip.MustParsePrefix("2001:db8:abcd::/48"),
		},
		RateLimit: 600,
		Metadata: map[string]string{
			"team":    "platform",
			"comment": "",
			"site":    "café",
			"städte":  "Zürich–東京",
		},
	},
}

// upgradeCmp compares addresses and networks by value.
var upgradeCmp = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// v2Designated names, per owner, the key that signs its webhooks.
var v2Designated = map[string]string{"acme": "primary", "globex": "hooks", "initech": "signer"}

// v2Owners are the fixture's owners, in a fixed order.
var v2Owners = []string{"acme", "globex", "initech"}

func loadV2Fixtures(t *testing.T) map[string]v2Fixture {
	t.Helper()
	b, err := os.ReadFile(v2Keys)
	if err != nil {
		t.Fatal(err)
	}
	var fx map[string]v2Fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatalf("keys.json: %v", err)
	}
	return fx
}

// upgradeDialect opens a v2 fixture of one dialect for a test. open
// returns, before any migration has run, a pool on the database for the
// test's own queries, and migrate then opens a Store over it; migrate may
// be called again, after the last Store was closed, to reopen.
type upgradeDialect struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t *testing.T) (db *sql.DB, migrate func() *sqlstore.Store)
}

var upgradeDialects = []upgradeDialect{
	{name: "sqlite", dialect: sqlstore.SQLite, open: func(t *testing.T) (*sql.DB, func() *sqlstore.Store) {
		b, err := os.ReadFile(v2SQLite)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "rotor.sqlite")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, func() *sqlstore.Store {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("opening the v2 SQLite database: %v", err)
			}
			t.Cleanup(func() { s.Close() }) // a second Close is harmless for the test
			return s
		}
	}},
	{name: "postgres", dialect: sqlstore.Postgres, open: func(t *testing.T) (*sql.DB, func() *sqlstore.Store) {
		script, err := os.ReadFile(v2PG)
		if err != nil {
			t.Fatal(err)
		}
		db := sqlstoretest.Postgres(t).SQL(t)
		if _, err := db.ExecContext(t.Context(), string(script)); err != nil {
			t.Fatalf("recreating the v2 PostgreSQL schema: %v", err)
		}
		return db, func() *sqlstore.Store {
			s, err := postgres.New(t.Context(), db)
			if err != nil {
				t.Fatalf("opening the v2 PostgreSQL schema: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}},
}

// TestUpgradeFromV2 migrates databases that the previous release wrote
// (schema version 2: a record per regeneration) and checks that nothing
// was lost: every key it held authenticates, or is refused, as it was,
// under the id of the newest record of its chain; listings, designations,
// sealed values and last uses carry over; and the migrated keysets take
// changes and reopen unchanged.
func TestUpgradeFromV2(t *testing.T) {
	fixtures := loadV2Fixtures(t)
	for _, d := range upgradeDialects {
		t.Run(d.name, func(t *testing.T) {
			fx, ok := fixtures[d.name]
			if !ok {
				t.Fatalf("keys.json has no %q fixture", d.name)
			}
			testUpgrade(t, d, &fx)
		})
	}
}

func testUpgrade(t *testing.T, d upgradeDialect, fx *v2Fixture) {
	ctx := t.Context()
	db, migrate := d.open(t)
	if diff := cmp.Diff([]int{1, 2}, appliedMigrations(t, db)); diff != "" {
		t.Fatalf("migrations of the fixture before the upgrade (-want +got):\n%s", diff)
	}

	versions := ownerVersions(t, db)

	s := migrate()
	if diff := cmp.Diff(versionsUpTo(migrationCount(t, d.dialect)), appliedMigrations(t, db)); diff != "" {
		t.Errorf("migrations recorded after the upgrade (-want +got):\n%s", diff)
	}
	checkUpgradedReminders(t, s)

	chains := fx.chains(t)
	n := 0
	for _, cs := range chains {
		n += len(cs)
	}
	if n != 8 || len(chains) != 3 {
		t.Fatalf("keys.json holds %d chains over %d owners; the fixture has 8 over 3", n, len(chains))
	}

	for _, owner := range v2Owners {
		ks, err := s.Load(ctx, owner)
		if err != nil {
			t.Fatalf("load %s after the upgrade: %v", owner, err)
		}
		if err := ks.Validate(); err != nil {
			t.Errorf("migrated keyset of %s breaks the store's rules: %v", owner, err)
		}
		if len(ks.Keys) != len(chains[owner]) {
			t.Errorf("migrated keyset of %s has %d keys, want one per chain: %d", owner, len(ks.Keys), len(chains[owner]))
		}
		if ks.Version != versions[owner] {
			// A writer that read the owner before the upgrade must still lose.
			t.Errorf("migrated keyset of %s is at version %d, was %d", owner, ks.Version, versions[owner])
		}
	}

	kek, err := secrets.ParseKEK(fx.KEKID, fx.KEK)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	clock := rotationtest.NewClock(fx.Now)
	rot, err := rotation.New(s, &rotation.Options{Keyring: ring, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	// Listings first: authenticating records uses, which lists show.
	for _, owner := range v2Owners {
		checkUpgradedList(t, rot, owner, chains[owner], fx.Now)
	}
	checkUpgradedKeys(t, rot, chains, fx.Now)
	for _, owner := range v2Owners {
		for _, c := range chains[owner] {
			for _, r := range c.Records {
				checkUpgradedRecord(t, rot, clock, c, r)
			}
		}
	}

	checkChangesAfterUpgrade(t, s, rot, clock, chains)

	// What the changes left is valid, and initech, which no change
	// touched, goes as migrated through a plain save and load.
	after := make(map[string]store.Keyset)
	for _, owner := range v2Owners {
		ks, err := s.Load(ctx, owner)
		if err != nil {
			t.Fatalf("load %s after the changes: %v", owner, err)
		}
		if err := ks.Validate(); err != nil {
			t.Errorf("keyset of %s after the changes breaks the store's rules: %v", owner, err)
		}
		after[owner] = ks
	}
	resaved := after["initech"].Clone()
	if err := s.Save(ctx, resaved); err != nil {
		t.Fatalf("saving the migrated keyset of initech as it was loaded: %v", err)
	}
	got, err := s.Load(ctx, "initech")
	if err != nil {
		t.Fatal(err)
	}
	resaved.Version++
	if diff := cmp.Diff(resaved, got, upgradeCmp); diff != "" {
		t.Errorf("migrated keyset of initech saved and loaded again (-want +got):\n%s", diff)
	}
	after["initech"] = got

	// Reopening runs no migration and changes nothing.
	applied := appliedMigrations(t, db)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = migrate()
	if diff := cmp.Diff(applied, appliedMigrations(t, db)); diff != "" {
		t.Errorf("migrations recorded after reopening (-want +got):\n%s", diff)
	}
	for _, owner := range v2Owners {
		ks, err := s.Load(ctx, owner)
		if err != nil {
			t.Fatalf("load %s after reopening: %v", owner, err)
		}
		if diff := cmp.Diff(after[owner], ks, upgradeCmp); diff != "" {
			t.Errorf("keyset of %s after reopening (-want +got):\n%s", owner, diff)
		}
	}
}

// checkUpgradedReminders checks what the reminders step made of the
// migrated keysets: a secret that had expired before the upgrade is
// marked as told of, so that no one is told of it now, and an owner with
// a secret that may still be reminded of, or a value in grace, is due at
// once, so that the first sweep works out when it is due.
func checkUpgradedReminders(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	due, err := s.Due(t.Context(), time.Unix(0, 0), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, owner := range v2Owners {
		ks, err := s.Load(t.Context(), owner)
		if err != nil {
			t.Fatal(err)
		}
		wantDue := false
		for _, k := range ks.Keys {
			switch {
			case !k.RevokedAt.IsZero() || k.ExpiresAt.IsZero():
			case k.ExpiresAt.Before(time.Now()):
				if !k.RemindedFor.Equal(k.ExpiresAt) || !k.RemindedAt.Equal(k.ExpiresAt) {
					t.Errorf("key %s of %s expired before the upgrade and is not marked as told", k.ID, owner)
				}
			default:
				wantDue = true
			}
			wantDue = wantDue || len(k.Previous) > 0
		}
		if got := slices.Contains(due, owner); got != wantDue {
			t.Errorf("owner %s due at once after the upgrade: %v, want %v", owner, got, wantDue)
		}
	}
}

// ownerVersions returns the version of every owner in db.
func ownerVersions(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT owner, version FROM owners")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var owner string
		var v int64
		if err := rows.Scan(&owner, &v); err != nil {
			t.Fatal(err)
		}
		out[owner] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantSecret returns what List must show of the key that chain c became,
// at now. Its LastUsedIP is that of one of the chain's records last used
// at LastUsedAt; ties returns them all.
func wantSecret(c *v2Chain, now time.Time) (want rotation.Secret, ties []netip.Addr) {
	h := c.head()
	want = rotation.Secret{
		ID:    h.ID,
		Owner: c.Owner,
		Attributes: store.Attributes{
			Name:      h.Name,
			Format:    h.Format,
			Custom:    h.Custom,
			HMAC:      h.HMAC,
			ExpiresAt: h.ExpiresAt,
		},
		CreatedAt: c.Records[len(c.Records)-1].CreatedAt,
		RevokedAt: h.RevokedAt,
		Signing:   h.Signing,
		Current:   wantValue(h, false),
	}
	extra := v2Extra[c.Owner+"/"+h.Name]
	want.Scopes, want.Networks, want.RateLimit, want.Metadata = extra.Scopes, extra.Networks, extra.RateLimit, extra.Metadata
	switch h.StatusAtNow {
	case "active":
		want.Status = rotation.StatusActive
	case "expired":
		want.Status = rotation.StatusExpired
	case "revoked":
		want.Status = rotation.StatusRevoked
	}
	for _, r := range c.Records {
		if r.CreatedAt.Before(want.CreatedAt) {
			want.CreatedAt = r.CreatedAt
		}
		if r.LastUsedAt.After(want.LastUsedAt) {
			want.LastUsedAt = r.LastUsedAt
		}
		if r != h && r.StatusAtNow == "grace" && now.Before(r.ExpiresAt) {
			want.Previous = append(want.Previous, wantValue(r, true))
		}
	}
	for _, r := range c.Records {
		if !want.LastUsedAt.IsZero() && r.LastUsedAt.Equal(want.LastUsedAt) {
			ties = append(ties, r.LastUsedIP)
		}
	}
	if len(ties) > 0 {
		want.LastUsedIP = ties[0]
	}
	return want, ties
}

// wantValue returns what may be shown of the value that record r became:
// the key's current one, or a previous one whose window ends at the
// record's old expiry.
func wantValue(r *v2Record, previous bool) rotation.ValueInfo {
	v := rotation.ValueInfo{
		ID:         r.ID,
		Hint:       r.hint(),
		CreatedAt:  r.CreatedAt,
		LastUsedAt: r.LastUsedAt,
		LastUsedIP: r.LastUsedIP,
	}
	if previous {
		v.ExpiresAt = r.ExpiresAt
	}
	return v
}

// checkUpgradedList checks the owner's list: one secret per chain, in
// the order their keys were created, each as wantSecret says, and the
// designation on the key that held it.
func checkUpgradedList(t *testing.T, rot *rotation.Rotator, owner string, chains []*v2Chain, now time.Time) {
	t.Helper()
	list, err := rot.List(t.Context(), owner)
	if err != nil {
		t.Fatalf("list %s: %v", owner, err)
	}
	got := make(map[string]rotation.Secret, len(list))
	var gotOrder, wantOrder []string
	var signing []string
	for _, s := range list {
		got[s.ID] = s
		gotOrder = append(gotOrder, s.Name+" "+s.ID)
		if s.Signing {
			signing = append(signing, s.Name)
		}
	}
	for _, c := range chains {
		want, ties := wantSecret(c, now)
		wantOrder = append(wantOrder, want.Name+" "+want.ID)
		g, ok := got[want.ID]
		if !ok {
			t.Errorf("list %s: no secret %s (%s), the newest record of its chain", owner, want.ID, want.Name)
			continue
		}
		if slices.Contains(ties, g.LastUsedIP) {
			want.LastUsedIP = g.LastUsedIP // any of the records last used at that instant
		}
		// UpdatedAt is not in keys.json; the migration keeps the newest record's.
		if diff := cmp.Diff(want, g, cmpopts.IgnoreFields(rotation.Secret{}, "UpdatedAt"), cmpopts.EquateEmpty(), upgradeCmp); diff != "" {
			t.Errorf("list %s: secret %s (%s) (-want +got):\n%s", owner, want.ID, want.Name, diff)
		}
	}
	if diff := cmp.Diff(wantOrder, gotOrder); diff != "" {
		t.Errorf("list %s: order of the secrets, oldest first as List and Keyset.Keys promise (-want +got):\n%s", owner, diff)
	}
	if diff := cmp.Diff([]string{v2Designated[owner]}, signing); diff != "" {
		t.Errorf("list %s: the secrets that sign its webhooks (-want +got):\n%s", owner, diff)
	}
}

// checkUpgradedKeys checks that the sealed values open: an owner verifies
// with one key per sealed value valid now, and acme signs with the
// current value of its designated key and then the two in grace, newest
// first.
func checkUpgradedKeys(t *testing.T, rot *rotation.Rotator, chains map[string][]*v2Chain, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for _, owner := range v2Owners {
		want := 0
		for _, c := range chains[owner] {
			for _, r := range c.Records {
				if r.HMAC && r.validAtNow() {
					want++
				}
			}
		}
		keys, err := rot.VerifyingKeys(ctx, owner)
		if err != nil {
			t.Fatalf("verifying keys of %s: %v", owner, err)
		}
		if len(keys) != want {
			t.Errorf("verifying keys of %s: %d, want one per sealed value valid now: %d", owner, len(keys), want)
		}
	}

	var primary *v2Chain
	for _, c := range chains["acme"] {
		if c.head().Name == v2Designated["acme"] {
			primary = c
		}
	}
	if primary == nil {
		t.Fatal("keys.json has no chain for acme's designated key")
	}
	var wantIDs []string
	var wantEnds []time.Time
	for _, r := range primary.Records { // newest first, the current one at the head
		if r.validAtNow() {
			wantIDs = append(wantIDs, primary.head().ID)
			end := time.Time{}
			if r != primary.head() {
				end = r.ExpiresAt
			}
			wantEnds = append(wantEnds, end)
		}
	}
	keys, err := rot.SigningKeys(ctx, "acme")
	if err != nil {
		t.Fatalf("signing keys of acme: %v", err)
	}
	var gotIDs []string
	var gotEnds []time.Time
	for _, k := range keys {
		gotIDs = append(gotIDs, k.ID())
		gotEnds = append(gotEnds, k.ExpiresAt())
	}
	if len(wantIDs) != 3 {
		t.Fatalf("keys.json: acme's designated key has %d values valid now; the fixture has 3", len(wantIDs))
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("signing keys of acme: ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantEnds, gotEnds); diff != "" {
		t.Errorf("signing keys of acme: ends, the current value first and then those in grace, newest first (-want +got):\n%s", diff)
	}
	// The first signature of a message is the current value's.
	signer := hmacsign.NewSigner(rot, &hmacsign.SignerOptions{Now: func() time.Time { return now }})
	m, err := signer.Sign(ctx, "acme", "", []byte(`{"type":"upgrade.first"}`))
	if err != nil {
		t.Fatalf("signing for acme: %v", err)
	}
	entries := strings.Fields(m.Signature)
	if len(entries) != 3 {
		t.Fatalf("a message of acme carries %d signatures, want 3", len(entries))
	}
	m.Signature = entries[0]
	if _, err := staticVerifier(t, primary.head(), now).Verify(ctx, "acme", m); err != nil {
		t.Errorf("the first signature of a message of acme is not its current value's: %v", err)
	}
}

// staticVerifier verifies with the plaintext of record r alone.
func staticVerifier(t *testing.T, r *v2Record, now time.Time) *hmacsign.Verifier {
	t.Helper()
	k, err := hmacsign.NewKey(r.ID, secrets.NewValue(r.Key), time.Time{})
	if err != nil {
		t.Fatalf("hmac key of record %s: %v", r.ID, err)
	}
	v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{k}, &hmacsign.VerifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// requestFor returns a request that a key with networks may come from.
func requestFor(nets []netip.Prefix) rotation.Request {
	if len(nets) == 0 {
		return rotation.Request{}
	}
	return rotation.Request{IP: nets[0].Addr()}
}

// checkUpgradedRecord checks that record r of chain c authenticates as
// the key of its chain, or is refused, as its status at now says; keys
// that sign are checked through signatures both ways too.
func checkUpgradedRecord(t *testing.T, rot *rotation.Rotator, clock *rotationtest.Clock, c *v2Chain, r *v2Record) {
	t.Helper()
	ctx := t.Context()
	now := clock.Now()
	h := c.head()
	replaced := r != h
	what := c.Owner + "/" + r.Name + " record " + r.ID + " (" + r.StatusAtNow + ")"

	if !r.Format.IsWebhook() {
		req := requestFor(v2Extra[c.Owner+"/"+h.Name].Networks)
		p, err := rot.Authenticate(ctx, r.Key, req)
		switch {
		case r.validAtNow():
			if err != nil {
				t.Errorf("%s: authenticate: %v", what, err)
				break
			}
			want := wantValue(r, replaced)
			want.LastUsedAt, want.LastUsedIP = now, req.IP // this use
			if p.Owner != c.Owner || p.Secret.ID != h.ID || p.Previous != replaced {
				t.Errorf("%s: authenticated as %s/%s with Previous %v, want %s/%s with Previous %v",
					what, p.Owner, p.Secret.ID, p.Previous, c.Owner, h.ID, replaced)
			}
			if diff := cmp.Diff(want, p.Presented, upgradeCmp); diff != "" {
				t.Errorf("%s: the value presented (-want +got):\n%s", what, diff)
			}
		case replaced, r.StatusAtNow == "expired":
			// A replaced record is a previous value, whose window has ended
			// whether it expired or was revoked by a regeneration.
			if !errors.Is(err, rotation.ErrExpired) {
				t.Errorf("%s: authenticate gave %v, want %v", what, err, rotation.ErrExpired)
			}
		case r.StatusAtNow == "revoked":
			if !errors.Is(err, rotation.ErrRevoked) {
				t.Errorf("%s: authenticate gave %v, want %v", what, err, rotation.ErrRevoked)
			}
		default:
			t.Fatalf("%s: keys.json gives a status this test does not know", what)
		}
	}

	if !r.HMAC {
		return
	}
	// Signed with the plaintext, verified with the owner's keys.
	at := func() time.Time { return now }
	k, err := hmacsign.NewKey(r.ID, secrets.NewValue(r.Key), time.Time{})
	if err != nil {
		t.Fatalf("%s: hmac key: %v", what, err)
	}
	m, err := hmacsign.NewSigner(hmacsign.StaticKeys{k}, &hmacsign.SignerOptions{Now: at}).Sign(ctx, c.Owner, "", []byte(`{"type":"upgrade.in"}`))
	if err != nil {
		t.Fatalf("%s: signing with the plaintext: %v", what, err)
	}
	verifier, err := hmacsign.NewVerifier(rot, &hmacsign.VerifierOptions{Now: at})
	if err != nil {
		t.Fatal(err)
	}
	keyID, err := verifier.Verify(ctx, c.Owner, m)
	switch {
	case r.validAtNow() && err != nil:
		t.Errorf("%s: a message signed with it does not verify: %v", what, err)
	case r.validAtNow() && keyID != h.ID:
		t.Errorf("%s: a message signed with it verifies as key %s, want %s", what, keyID, h.ID)
	case !r.validAtNow() && !errors.Is(err, hmacsign.ErrInvalidSignature):
		t.Errorf("%s: a message signed with it gave %v, want %v", what, err, hmacsign.ErrInvalidSignature)
	}

	// Signed by the owner, verified with the plaintext: only the values
	// of the designated key that are valid now sign.
	m, err = hmacsign.NewSigner(rot, &hmacsign.SignerOptions{Now: at}).Sign(ctx, c.Owner, "", []byte(`{"type":"upgrade.out"}`))
	if err != nil {
		t.Fatalf("%s: signing for %s: %v", what, c.Owner, err)
	}
	_, err = staticVerifier(t, r, now).Verify(ctx, c.Owner, m)
	signs := h.Signing && r.validAtNow()
	switch {
	case signs && err != nil:
		t.Errorf("%s: a message its owner signs does not verify with it: %v", what, err)
	case !signs && !errors.Is(err, hmacsign.ErrInvalidSignature):
		t.Errorf("%s: a message its owner signs gave %v with it, want %v", what, err, hmacsign.ErrInvalidSignature)
	}
}

// checkChangesAfterUpgrade changes the migrated owners through the
// Rotator: acme's designated key is regenerated with no grace, acme's
// "ci" is renamed and globex gets a new key. Each change must save and
// show, and the store's change log must report the owners.
func checkChangesAfterUpgrade(t *testing.T, s *sqlstore.Store, rot *rotation.Rotator, clock *rotationtest.Clock, chains map[string][]*v2Chain) {
	t.Helper()
	is := is.New(t)
	ctx := t.Context()
	now := clock.Now()
	named := func(owner, name string) *v2Chain {
		for _, c := range chains[owner] {
			if c.head().Name == name {
				return c
			}
		}
		t.Fatalf("keys.json has no key %s/%s", owner, name)
		return nil
	}
	primary, ci := named("acme", "primary"), named("acme", "ci")

	owners, cursor, err := s.Changes(ctx, "")
	is.NoErr(err)            // the change log gives a cursor after the upgrade
	is.Equal(len(owners), 0) // and no owners with it

	reg, err := rot.Regenerate(ctx, "acme", primary.head().ID, 0)
	is.NoErr(err)                                       // the migrated designated key regenerates
	is.Equal(reg.ID, primary.head().ID)                 // and keeps its id
	is.Equal(reg.Old.ID, primary.head().ID)             // its old value was the newest record's
	is.True(reg.Old.ExpiresAt.Equal(now))               // which ends now, with no grace
	is.True(reg.Signing)                                // the key still signs
	is.Equal(len(reg.Previous), len(primary.Records)-1) // the values in grace keep their windows
	is.Equal(len(reg.CutShort), 0)                      // and none was cut short
	p, err := rot.Authenticate(ctx, reg.Value.Reveal(), rotation.Request{})
	is.NoErr(err)                            // the new value authenticates
	is.Equal(p.Secret.ID, primary.head().ID) // as the same key
	is.True(!p.Previous)                     // with its current value
	_, err = rot.Authenticate(ctx, primary.head().Key, rotation.Request{})
	is.True(errors.Is(err, rotation.ErrInvalidKey)) // the value it replaced with no grace is gone
	for _, r := range primary.Records[1:] {
		p, err := rot.Authenticate(ctx, r.Key, rotation.Request{})
		is.NoErr(err)                                     // a migrated value still in grace keeps working
		is.True(p.Previous)                               // as a previous value
		is.True(p.Presented.ExpiresAt.Equal(r.ExpiresAt)) // until its window ends
	}
	keys, err := rot.SigningKeys(ctx, "acme")
	is.NoErr(err)          // acme's signing keys build after the change
	is.Equal(len(keys), 3) // from the new value and the two in grace

	renamed, err := rot.Update(ctx, "acme", ci.head().ID, func(a *rotation.Attributes) { a.Name = "ci (renamed)" })
	is.NoErr(err)                          // a migrated key's attributes change
	is.Equal(renamed.Name, "ci (renamed)") // to the new name
	got, err := rot.Get(ctx, "acme", ci.head().ID)
	is.NoErr(err) // and it reads back
	want := v2Extra["acme/ci"]
	if diff := cmp.Diff(want.Metadata, got.Metadata); diff != "" {
		t.Errorf("metadata of acme's ci after a rename (-want +got):\n%s", diff)
	}
	is.Equal(got.Name, "ci (renamed)") // with the new name
	is.Equal(got.RateLimit, 600)       // and the rest as it was

	created, err := rot.Create(ctx, "globex", rotation.Spec{Name: "after the upgrade"})
	is.NoErr(err) // a migrated owner takes a new key
	p, err = rot.Authenticate(ctx, created.Value.Reveal(), rotation.Request{})
	is.NoErr(err)                     // which authenticates
	is.Equal(p.Secret.ID, created.ID) // as itself
	is.Equal(p.Owner, "globex")       // of its owner

	owners, _, err = s.Changes(ctx, cursor)
	is.NoErr(err) // the change log reads after the changes
	if diff := cmp.Diff([]string{"acme", "globex"}, distinct(owners)); diff != "" {
		t.Errorf("owners changed since the upgrade (-want +got):\n%s", diff)
	}
}
