package store_test

import (
	"testing"

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
