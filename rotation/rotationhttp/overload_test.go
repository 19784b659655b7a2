package rotationhttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/memstore"
)

// Once unknown keys have used up the store lookups they may cost, a key
// that is not cached is answered 503 with a Retry-After, not 401: it may
// be valid. A key whose owner is cached is let in as before.
func TestRequireOverloaded(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	clock := rotationtest.NewClock(t0)
	rot, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now, Cache: rotation.CacheOptions{MaxMissLookups: 1}})
	is.NoErr(err)
	known, err := rot.Create(ctx, "acme", rotation.Spec{Scopes: []string{"read"}})
	is.NoErr(err)
	auth, err := rotationhttp.NewAuthenticator(rot, nil)
	is.NoErr(err)
	h := auth.Require("read", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rotationhttp.WriteJSON(w, http.StatusOK, map[string]string{})
	}))
	send := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	madeUp := func() string {
		v, err := secrets.Format("sk_live").Generate() // well-formed, with a valid checksum
		is.NoErr(err)
		return v.Reveal()
	}

	is.Equal(send(madeUp()).Code, http.StatusUnauthorized) // the first made-up key is looked up, and unknown
	w := send(madeUp())
	is.Equal(w.Code, http.StatusServiceUnavailable) // the next is not looked up: the cap is reached
	is.Equal(w.Header().Get("Retry-After"), "1")    // and the client is told when to retry
	var problem struct{ Code string }
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &problem))
	is.Equal(problem.Code, rotationhttp.CodeServiceUnavailable) // in the machine code of an outage
	is.Equal(send(known.Value.Reveal()).Code, http.StatusOK)    // a key of a cached owner still works
}
