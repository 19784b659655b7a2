// Package storetest is the conformance suite for implementations of
// [store.Store], in the manner of [testing/fstest.TestFS] and
// [testing/slogtest.Run].
//
// A backend's test calls [Run] with a function that returns a new, empty
// store; Run gives every case its own store from it, so cases never see
// each other's data:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mystore.Open(t.Context(), filepath.Join(t.TempDir(), "rotor.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The constructor may call t.Fatal and register cleanups on t, which
// belongs to the case that asked for the store.
//
// # What it checks
//
// Each promise in the doc comments of [store.Store], one named subtest at a
// time: loading an unknown owner; saving and loading back every field of
// a key and of its current and previous values, and the owner's
// designation; text at the edges of what [store.Keyset.Validate] allows,
// byte for byte; versions that count saves, also through a save that
// empties a keyset; compare-and-swap that refuses stale versions and
// changes nothing when it does; copies that share no memory with the
// store; a digest index that follows every save, finds a key by any of
// its values and says whether it is designated; refusal, changing
// nothing, of digests of other owners and of every keyset that
// [store.Keyset.Validate] refuses (the suite checks that its own cases
// break the rule each is named after); recorded uses of keys and of
// values that never move back, never change a version and survive saves
// made from older reads; cancelled contexts; error messages that never
// show a digest; and 64 goroutines racing read-modify-save on one owner
// while uses are recorded, with no update lost. Run it under -race.
//
// Times in the suite are UTC and whole microseconds, so backends that keep
// microsecond precision pass; they are compared with [time.Time.Equal], so
// a backend may return them in another location. Nil and empty slices and
// maps are treated as equal.
package storetest
