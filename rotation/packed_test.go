package rotation

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// exactly compares keysets field by field, times by instant and by
// location, addresses and prefixes by value, and nil apart from empty.
var exactly = []cmp.Option{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmp.Comparer(func(a, b []byte) bool { return (a == nil) == (b == nil) && string(a) == string(b) }),
}

// roundTrip packs ks and fails t unless unpacking gives it back exactly,
// and the packed form answers what a keyset would.
func roundTrip(t *testing.T, ks store.Keyset, now time.Time) {
	t.Helper()
	p := pack(&ks)
	if s := newSnapshot(&ks, now); s.p.data != p.data || s.version != ks.Version {
		t.Fatalf("a snapshot holds other bytes than pack makes, or version %d; want %d", s.version, ks.Version)
	}
	got := p.keyset(ks.Version)
	if d := cmp.Diff(ks, got, exactly...); d != "" {
		t.Fatalf("unpacked keyset (-packed +unpacked):\n%s", d)
	}
	if p.owner() != ks.Owner {
		t.Fatalf("owner %q; want %q", p.owner(), ks.Owner)
	}
	if got, want := p.signing(now), signingIndex(&ks, now); got != want {
		t.Fatalf("signing key %d at %v; want %d", got, now, want)
	}
	var want []secrets.Digest
	for i := range ks.Keys {
		for v := range ks.Keys[i].Values() {
			want = append(want, v.Digest)
		}
	}
	var all []secrets.Digest
	p.digests(func(d secrets.Digest) { all = append(all, d) })
	if d := cmp.Diff(want, all); d != "" {
		t.Fatalf("digests (-want +got):\n%s", d)
	}
	for _, d := range append(want, secrets.Digest{}) {
		i, j, at := p.find(d)
		if want := indexOf(&ks, d); i != want {
			t.Fatalf("find gives key %d; want %d", i, want)
		}
		if i >= 0 {
			if diff := cmp.Diff(ks.Keys[i], p.record(at), exactly...); diff != "" {
				t.Fatalf("the record found (-want +got):\n%s", diff)
			}
			checkPrincipal(t, p, &ks, i, j, at, now)
		}
	}
}

// checkPrincipal fails t unless what packed.principal reads of key i,
// presented by its value j, is what Authenticate makes of the unpacked
// record, but for the fields it sets itself once its checks pass, and
// unless packed.signs answers as packed.signing for a key active at now.
func checkPrincipal(t *testing.T, p packed, ks *store.Keyset, i, j, at int, now time.Time) {
	t.Helper()
	rec := ks.Keys[i].Clone()
	match := &rec.Current
	if j > 0 {
		match = &rec.Previous[j-1]
	}
	want := Principal{Owner: ks.Owner, Secret: secretOf(ks.Owner, &rec, false, now), Presented: valueInfo(match), Previous: j > 0}
	var got Principal
	p.principal(ks.Owner, at, j, now, &got)
	ignore := cmpopts.IgnoreFields(Secret{}, "LastUsedAt", "LastUsedIP")
	// The value presented is shown with this use as its last: what it had
	// before is not read.
	for _, v := range append([]*ValueInfo{&want.Presented, &want.Secret.Current}, ptrs(want.Secret.Previous)...) {
		if v.ID == match.ID {
			v.LastUsedAt, v.LastUsedIP = time.Time{}, netip.Addr{}
		}
	}
	if d := cmp.Diff(want, got, append(exactly, ignore)...); d != "" {
		t.Fatalf("principal of key %d, value %d (-unpacked +read):\n%s", i, j, d)
	}
	if rec.ValidAt(now) {
		if got, want := p.signs(i, rec.ID, rec.CanSign(), now), p.signing(now) == i; got != want {
			t.Fatalf("key %d signs: %v; want %v", i, got, want)
		}
	}
}

// ptrs returns pointers to the elements of s.
func ptrs[T any](s []T) []*T {
	var out []*T
	for i := range s {
		out = append(out, &s[i])
	}
	return out
}

// fill sets every field of the struct v points at to a value that is
// not its zero value, recursing into structs and slices, and fails t for
// a field of a type it does not know: a field added to store.Record, or
// to what it holds, must be packed too, and this test must learn of it.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		locs := []*time.Location{time.UTC, time.Local, time.FixedZone("CET", 3600)}
		v.Set(reflect.ValueOf(time.Unix(1_800_000_000+int64(*n), int64(*n)).In(locs[*n%len(locs)])))
		return
	case reflect.TypeFor[netip.Addr]():
		addrs := []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("::ffff:192.0.2.8")}
		v.Set(reflect.ValueOf(addrs[*n%len(addrs)]))
		return
	case reflect.TypeFor[netip.Prefix]():
		v.Set(reflect.ValueOf(netip.MustParsePrefix("10." + strconv.Itoa(*n%256) + ".0.0/16")))
		return
	case reflect.TypeFor[secrets.Digest]():
		v.Set(reflect.ValueOf(secrets.Digest(sha256.Sum256([]byte(strconv.Itoa(*n))))))
		return
	case reflect.TypeFor[secrets.Format]():
		v.Set(reflect.ValueOf(secrets.Webhook))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				t.Fatalf("%s has an unexported field %s: the packed form cannot know it", v.Type(), v.Type().Field(i).Name)
			}
			fill(t, v.Field(i), n)
		}
	case reflect.String:
		v.SetString("text " + strconv.Itoa(*n) + " é")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(600 + *n))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			if s.Index(i).Kind() == reflect.Uint8 {
				s.Index(i).SetUint(uint64(*n + i))
				continue
			}
			fill(t, s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, k, n)
			fill(t, e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		t.Fatalf("fill does not know %s, of kind %s: teach it, and pack the field", v.Type(), v.Kind())
	}
}

// Every field of a keyset, set, comes back as it was: a field added to
// the store's types and not to the packed form fails here.
func TestPackEveryField(t *testing.T) {
	var ks store.Keyset
	n := 0
	fill(t, reflect.ValueOf(&ks).Elem(), &n)
	ks.Signing = ks.Keys[1].ID
	roundTrip(t, ks, time.Unix(1_800_000_000, 0))
}

// Nil stays nil and empty stays empty, zero times and addresses zero.
func TestPackEmpties(t *testing.T) {
	roundTrip(t, store.Keyset{Owner: "acme"}, time.Unix(0, 0))
	roundTrip(t, store.Keyset{Owner: "acme", Version: 3, Keys: []store.Record{}}, time.Unix(0, 0))
	roundTrip(t, store.Keyset{Owner: "acme", Keys: []store.Record{{ID: "a"}, {
		ID:         "b",
		Attributes: store.Attributes{Scopes: []string{}, Networks: []netip.Prefix{}, Metadata: map[string]string{}},
		Previous:   []store.Value{},
		Current:    store.Value{Sealed: secrets.Sealed{Ciphertext: []byte{}}},
	}}}, time.Unix(0, 0))
}

// Random keysets round-trip, and their packed form finds keys and tells
// which signs as the keyset itself does, at instants around every bound.
func TestPackRandomKeysets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func() time.Time {
		if rng.IntN(3) == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(rng.IntN(7)-3) * time.Minute)
	}
	for round := range 500 {
		ks := store.Keyset{Owner: fmt.Sprintf("owner %d", round), Version: int64(round)}
		for k := range rng.IntN(5) {
			rec := store.Record{
				ID:         fmt.Sprintf("sec_%d", k),
				Attributes: store.Attributes{Format: []secrets.Format{"sk_live", secrets.Webhook}[rng.IntN(2)], HMAC: rng.IntN(2) == 0, ExpiresAt: at()},
				RevokedAt:  at(),
				CreatedAt:  base,
				Current:    store.Value{ID: fmt.Sprintf("val_%d_0", k), Digest: secrets.Digest(sha256.Sum256(fmt.Appendf(nil, "%d.%d.0", round, k)))},
			}
			for v := range rng.IntN(3) {
				rec.Previous = append(rec.Previous, store.Value{
					ID:        fmt.Sprintf("val_%d_%d", k, v+1),
					Digest:    secrets.Digest(sha256.Sum256(fmt.Appendf(nil, "%d.%d.%d", round, k, v+1))),
					ExpiresAt: at(),
				})
			}
			ks.Keys = append(ks.Keys, rec)
		}
		if len(ks.Keys) > 0 && rng.IntN(2) == 0 {
			ks.Signing = ks.Keys[rng.IntN(len(ks.Keys))].ID
		}
		for _, now := range []time.Time{base.Add(-5 * time.Minute), base, base.Add(time.Minute), base.Add(5 * time.Minute)} {
			roundTrip(t, ks, now)
		}
	}
}

// indexOf returns the index of the key of ks that has a value whose
// digest is d, or -1: what packed.find must answer.
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

// The sizes of inlineAllocs are worked out from a snapshot of 72 bytes.
func TestSnapshotSize(t *testing.T) {
	if n := unsafe.Sizeof(snapshot{}); n != 72 {
		t.Fatalf("a snapshot is %d bytes: work inlineAllocs out again for it", n)
	}
}

// A keyset packs to the same bytes every time, whatever order its
// metadata's map gives: a sweep tells a keyset it left unchanged by them.
func TestPackIsDeterministic(t *testing.T) {
	meta := map[string]string{}
	for i := range 16 {
		meta[strconv.Itoa(i)] = "v" + strconv.Itoa(i)
	}
	ks := store.Keyset{Owner: "acme", Keys: []store.Record{{ID: "a", Attributes: store.Attributes{Metadata: meta}}}}
	first := pack(&ks).data
	for range 50 {
		if pack(&ks).data != first {
			t.Fatal("the same keyset packed to other bytes")
		}
	}
}
