package store_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
)

func TestHasScopes(t *testing.T) {
	is := is.New(t)
	a := store.Attributes{Scopes: []string{"read", "write"}}
	is.True(a.HasScopes(nil))                        // none asked for: all held
	is.True(a.HasScopes([]string{"write", "read"}))  // every one held, in any order
	is.True(!a.HasScopes([]string{"read", "admin"})) // one not held is enough to refuse
}

func TestKeysetMatch(t *testing.T) {
	is := is.New(t)
	end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ks := store.Keyset{Owner: "acme", Signing: "b", Keys: []store.Record{
		{ID: "a", Attributes: store.Attributes{Scopes: []string{"read"}}},
		{ID: "b", Attributes: store.Attributes{ExpiresAt: end}},
	}}
	m := ks.Match(0)
	is.Equal(m.Owner, "acme")                      // the owner
	is.Equal(m.Key.ID, "a")                        // the key at the index
	is.Equal(m.Signing, "b")                       // the designation
	is.True(m.SigningExpiresAt.Equal(end))         // and when the designated key expires
	m.Key.Scopes[0] = "write"                      //
	is.Equal(ks.Keys[0].Scopes[0], "read")         // the key is a copy
	ks.Signing = ""                                //
	is.True(ks.Match(1).SigningExpiresAt.IsZero()) // no designation: no expiry
}

func TestRecordUse(t *testing.T) {
	is := is.New(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("192.0.2.1")
	ks := store.Keyset{Owner: "acme", Keys: []store.Record{{
		ID: "a", Current: store.Value{ID: "a.v1"}, Previous: []store.Value{{ID: "a.v0", ExpiresAt: t0.Add(time.Hour)}},
	}}}
	is.True(ks.RecordUse(store.Use{KeyID: "a", ValueID: "a.v0", At: t0, IP: ip})) // a use changes
	k := ks.Keys[0]
	is.True(k.LastUsedAt.Equal(t0) && k.LastUsedIP == ip) // the key's last use
	is.True(k.Previous[0].LastUsedAt.Equal(t0))           // and its value's
	is.True(k.Current.LastUsedAt.IsZero())                // and no other value's

	is.True(ks.RecordUse(store.Use{KeyID: "a", ValueID: "a.v1", At: t0}))                    // the same instant by another value
	is.True(ks.Keys[0].Current.LastUsedAt.Equal(t0))                                         // moves that value
	is.True(ks.Keys[0].LastUsedIP == ip)                                                     // but not the key, not being later
	is.True(!ks.RecordUse(store.Use{KeyID: "a", ValueID: "a.v0", At: t0.Add(-time.Minute)})) // an earlier use changes nothing
	is.True(!ks.RecordUse(store.Use{KeyID: "a", ValueID: "a.v9", At: t0.Add(time.Minute)}))  // nor one of an unknown value
	is.True(!ks.RecordUse(store.Use{KeyID: "z", ValueID: "a.v0", At: t0.Add(time.Minute)}))  // or key
	is.True(ks.Keys[0].LastUsedAt.Equal(t0))                                                 //
}
