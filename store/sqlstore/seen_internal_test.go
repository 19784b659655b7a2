package sqlstore

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seenKeyset returns a keyset of two keys, a with one value and b with
// a current and a previous one.
func seenKeyset() store.Keyset {
	value := func(id string, n byte) store.Value {
		v := store.Value{ID: id, Hint: "abcd", CreatedAt: t0, Sealed: secrets.Sealed{KEKID: "k", Ciphertext: []byte{n}}}
		v.Digest[0] = n
		return v
	}
	a := store.Record{ID: "a", Attributes: store.Attributes{Format: "sk_live"}, CreatedAt: t0, Current: value("a1", 1)}
	b := store.Record{ID: "b", Attributes: store.Attributes{Format: "sk_live"}, CreatedAt: t0, Current: value("b2", 2)}
	b.Previous = []store.Value{value("b1", 3)}
	b.Previous[0].ExpiresAt = t0.Add(time.Hour)
	return store.Keyset{Owner: "acme", Version: 4, Keys: []store.Record{a, b}}
}

// rowIDs returns the ids of rows.
func rowIDs(rows []*rowImage) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.id)
	}
	return out
}

// A save writes the rows whose images changed since the version it
// saves over, and removes by id those that are gone; without what was
// stored it writes every row and removes what it does not hold.
func TestWritesOf(t *testing.T) {
	ks := seenKeyset()
	stored := imagesOf(&ks).seenAt(4)
	type want struct {
		keys, values               []string
		removedValues, removedKeys []string
		unknown                    bool
	}
	for _, tt := range []struct {
		name   string
		change func(ks *store.Keyset)
		stored *seenRows
		want   want
	}{
		{name: "unchanged", change: func(*store.Keyset) {}, stored: stored},
		{
			name:   "not known",
			change: func(*store.Keyset) {}, stored: nil,
			want: want{keys: []string{"a", "b"}, values: []string{"a1", "b2", "b1"}, unknown: true},
		},
		{
			name:   "renamed",
			change: func(ks *store.Keyset) { ks.Keys[1].Name = "renamed" }, stored: stored,
			want: want{keys: []string{"b"}},
		},
		{
			name: "regenerated",
			change: func(ks *store.Keyset) {
				r := &ks.Keys[1]
				old := r.Current
				old.ExpiresAt = t0.Add(time.Minute)
				r.Current = store.Value{ID: "b3", CreatedAt: t0.Add(time.Second)}
				r.Current.Digest[0] = 9
				r.Previous = []store.Value{old}
				r.UpdatedAt = t0.Add(time.Second)
			},
			stored: stored,
			want:   want{keys: []string{"b"}, values: []string{"b3", "b2"}, removedValues: []string{"b1"}},
		},
		{
			name:   "window ended, key unchanged",
			change: func(ks *store.Keyset) { ks.Keys[1].Previous = nil },
			stored: stored,
			want:   want{removedValues: []string{"b1"}},
		},
		{
			name:   "first key removed",
			change: func(ks *store.Keyset) { ks.Keys = ks.Keys[1:] },
			stored: stored,
			// b moves to position 0; its values keep theirs, which
			// count among their key's.
			want: want{keys: []string{"b"}, removedValues: []string{"a1"}, removedKeys: []string{"a"}},
		},
		{
			name:   "used later",
			change: func(ks *store.Keyset) { ks.Keys[0].Current.LastUsedAt = t0.Add(time.Hour) },
			stored: stored,
			want:   want{values: []string{"a1"}},
		},
		{
			name:   "a time that differs below the microsecond",
			change: func(ks *store.Keyset) { ks.Keys[0].CreatedAt = t0.Add(time.Nanosecond) },
			stored: stored, // is stored the same
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks := seenKeyset()
			tt.change(&ks)
			w := writesOf(imagesOf(&ks), tt.stored, ks.Version)
			slices.Sort(w.removedValues)
			slices.Sort(w.removedKeys)
			got := want{rowIDs(w.keys), rowIDs(w.values), w.removedValues, w.removedKeys, w.unknown}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("writes (-want +got):\n%s", d)
			}
		})
	}
}

// A new owner's rows are all written and nothing is removed.
func TestWritesOfNewOwner(t *testing.T) {
	ks := seenKeyset()
	w := writesOf(imagesOf(&ks), nil, 0)
	if len(w.keys) != 2 || len(w.values) != 3 || w.prune() {
		t.Errorf("writes of a new owner: %d keys, %d values, prune %v; want 2, 3, false", len(w.keys), len(w.values), w.prune())
	}
}

// Every field of a key or value that a save stores changes its row's
// image, so that no change goes unwritten; a field added to store.Record
// or store.Value fails this test until the image holds it.
func TestImageHoldsEveryField(t *testing.T) {
	base := seenKeyset().Keys[1]
	image := func(r *store.Record) (key, value []byte) {
		return appendKeyImage(nil, 1, r), appendValueImage(nil, r.ID, 0, &r.Current)
	}
	baseKey, baseValue := image(&base)
	var walk func(path string, v reflect.Value, changed func() (key, value []byte))
	walk = func(path string, v reflect.Value, changed func() (key, value []byte)) {
		if v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]() && v.Type() != reflect.TypeFor[netip.Addr]() &&
			v.Type() != reflect.TypeFor[secrets.Digest]() {
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if path == "" && f.Name == "Previous" {
					continue // values of their own, tested through Current
				}
				walk(path+"."+f.Name, v.Field(i), changed)
			}
			return
		}
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !setOther(v) {
			t.Fatalf("%s: no changed value for a %s; teach setOther, and the image, about it", path, v.Type())
		}
		key, value := changed()
		if bytes.Equal(key, baseKey) && bytes.Equal(value, baseValue) {
			t.Errorf("%s: changing it leaves the images as they were", path)
		}
		v.Set(old)
	}
	r := base
	walk("", reflect.ValueOf(&r).Elem(), func() ([]byte, []byte) { return image(&r) })
}

// setOther sets v to a value other than the one it holds, and reports
// whether it knows how.
func setOther(v reflect.Value) bool {
	switch x := v.Addr().Interface().(type) {
	case *time.Time:
		*x = x.Add(time.Microsecond)
	case *netip.Addr:
		*x = netip.MustParseAddr("192.0.2.9")
	case *secrets.Digest:
		x[31] ^= 1
	case *[]string:
		*x = append(*x, "other")
	case *[]netip.Prefix:
		*x = append(*x, netip.MustParsePrefix("192.0.2.0/24"))
	case *map[string]string:
		*x = map[string]string{"other": "x"}
	case *[]byte:
		*x = append(slices.Clone(*x), 7)
	default:
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Int, reflect.Int64:
			v.SetInt(v.Int() + 1)
		default:
			return false
		}
	}
	return true
}

// What a Store remembers stays within maxSeen bytes however many owners
// it loads, keeps the latest version of each, and is not kept for rows
// larger than the whole.
func TestSeenIsBounded(t *testing.T) {
	var s seen
	rows := func(version int64, n int) *seenRows {
		return &seenRows{version: version, rows: &rowImages{buf: make([]byte, n)}}
	}
	for i := range 10_000 {
		s.put(fmt.Sprint("owner-", i), rows(1, 4096))
		if s.bytes > maxSeen {
			t.Fatalf("after %d owners: %d bytes remembered, over %d", i+1, s.bytes, maxSeen)
		}
	}
	if n := len(s.owners); n == 0 || n*4096 > maxSeen {
		t.Errorf("%d owners of 4096 bytes remembered within %d", n, maxSeen)
	}

	s.put("acme", rows(5, 100))
	s.put("acme", rows(4, 100)) // an older read, finishing late
	if s.get("acme", 5) == nil || s.get("acme", 4) != nil {
		t.Error("an older version replaced a newer one")
	}
	s.put("acme", rows(6, 100))
	if s.get("acme", 6) == nil {
		t.Error("a newer version did not replace an older one")
	}
	s.forget("acme")
	if s.get("acme", 6) != nil {
		t.Error("a forgotten owner is remembered")
	}

	s.put("huge", rows(1, maxSeen+1))
	if s.get("huge", 1) != nil {
		t.Error("rows larger than the bound are kept")
	}
	sum := 0
	for _, r := range s.owners {
		sum += r.size()
	}
	if sum != s.bytes {
		t.Errorf("bytes counted %d, held %d", s.bytes, sum)
	}
}
