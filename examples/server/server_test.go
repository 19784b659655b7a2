package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

const regenerateOwn = "/v1/integrator/regenerate-secret"

func TestRegenerateWithGraceWindow(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, oldKey := h.owner(t, "acme")
	id := h.list(t, oldKey)[0].ID

	h.clock.Advance(time.Hour)
	regenerated := start.Add(time.Hour)
	r := h.do(t, http.MethodPost, regenerateOwn, oldKey, `{"oldSecretValidForSeconds": 600}`)
	reply := ok[map[string]string](t, r, http.StatusOK)
	end := regenerated.Add(10 * time.Minute)
	newKey := reply["secret"]
	is.True(strings.HasPrefix(newKey, "sk_live_")) // the new key is in the reply
	if diff := cmp.Diff(map[string]string{"secret": newKey, "oldSecretExpiresAt": end.Format(time.RFC3339)}, reply); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}

	// One entry: the same secret, created when it was, with its new value
	// current and the old one listed until its window ends.
	h.clock.Advance(time.Minute)
	got := h.list(t, newKey)
	want := []secretView{{
		ID: id, Name: "acme", Hint: hint(newKey), CreatedAt: start,
		LastUsedAt: at(regenerated.Add(time.Minute)), LastUsedIP: str(localhost), Status: "active", UsedForWebhooks: true,
		Previous: []previousView{{Hint: hint(oldKey), ExpiresAt: end, LastUsedAt: at(regenerated)}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secrets during the grace window (-want +got):\n%s", diff)
	}

	h.clock.Advance(9*time.Minute - time.Second)
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", oldKey, "").status, http.StatusOK) // the old key works until the window ends
	want[0].LastUsedAt = at(end.Add(-time.Second))
	want[0].Previous[0].LastUsedAt = at(end.Add(-time.Second))
	if diff := cmp.Diff(want, h.list(t, newKey)); diff != "" {
		t.Errorf("secrets at the last second of the window (-want +got):\n%s", diff) // the old value still listed, with its own last use
	}

	h.clock.Advance(time.Second)
	r = h.do(t, http.MethodGet, "/v1/secrets", oldKey, "")
	problem(t, r, "/v1/secrets", rotationhttp.Problem{
		Status: http.StatusUnauthorized, Code: rotationhttp.CodeInvalidAPIToken, Realm: realm, Scope: scopeRead,
	}) // from the instant the window ends, the old key is refused
	is.Equal(r.header.Get("WWW-Authenticate"), `Bearer realm="rotor-example", error="invalid_token", scope="secrets:read"`) // RFC 6750
	want[0].LastUsedAt = at(end)
	want[0].Previous = []previousView{}
	if diff := cmp.Diff(want, h.list(t, newKey)); diff != "" {
		t.Errorf("secrets after the grace window (-want +got):\n%s", diff) // the old value is gone; the secret is as it was
	}
}

func TestRegenerateWithoutGraceWindow(t *testing.T) {
	h := newHarness(t, Options{})
	for name, body := range map[string]string{
		"empty body": "",
		"empty":      "{}",
		"zero":       `{"oldSecretValidForSeconds": 0}`,
		"zero point": `{"oldSecretValidForSeconds": 0.0}`,
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			_, oldKey := h.owner(t, "acme")
			id := h.list(t, oldKey)[0].ID
			r := h.do(t, http.MethodPost, regenerateOwn, oldKey, body)
			reply := ok[map[string]string](t, r, http.StatusOK)
			is.Equal(len(reply), 1)        // only the secret: oldSecretExpiresAt is absent without a window
			is.True(reply["secret"] != "") // the new key

			is.Equal(h.do(t, http.MethodGet, "/v1/secrets", oldKey, "").status, http.StatusUnauthorized) // the old key dies at once
			list := h.list(t, reply["secret"])
			is.Equal(len(list), 1)                        // one secret
			is.Equal(list[0].ID, id)                      // the same one
			is.Equal(list[0].Status, "active")            // active
			is.Equal(list[0].Hint, hint(reply["secret"])) // with the new value
			is.Equal(list[0].Previous, []previousView{})  // and no old value in grace
		})
	}
}

func TestRegenerateByID(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	id := h.list(t, key)[0].ID

	path := "/v1/secrets/" + id + "/regenerate"
	got := ok[issuedView](t, h.do(t, http.MethodPost, path, key, `{"oldSecretValidForSeconds": 60}`), http.StatusOK)
	newKey := got.Secret
	want := issuedView{
		secretView: secretView{
			ID: id, Name: "acme", Hint: hint(newKey), CreatedAt: start, Status: "active", UsedForWebhooks: true,
			LastUsedAt: at(start), LastUsedIP: str(localhost),
			Previous: []previousView{{Hint: hint(key), ExpiresAt: start.Add(time.Minute), LastUsedAt: at(start)}},
		},
		shownOnce: shownOnce{Secret: newKey, OldSecretExpiresAt: start.Add(time.Minute)},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(issuedView{})); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff) // the same secret, with a new value
	}

	h.clock.Advance(time.Minute)
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", key, "").status, http.StatusUnauthorized) // the old key is refused after its minute
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", newKey, "").status, http.StatusOK)        // the new one works
}

// TestRegenerationKeepsID regenerates secrets in every way the service
// offers and checks that the list still shows the same secrets, under
// the same ids, in the same order, with only their values changed.
func TestRegenerationKeepsID(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	ci := ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets", key, `{"name": "CI"}`), http.StatusCreated)
	before := h.list(t, key)

	own := ok[map[string]string](t, h.do(t, http.MethodPost, regenerateOwn, key, `{"oldSecretValidForSeconds": 60}`), http.StatusOK)["secret"]
	h.clock.Advance(time.Minute)
	path := "/v1/secrets/" + ci.ID + "/regenerate"
	first := ok[issuedView](t, h.do(t, http.MethodPost, path, own, ""), http.StatusOK)
	second := ok[issuedView](t, h.do(t, http.MethodPost, path, own, `{"oldSecretValidForSeconds": 60}`), http.StatusOK)
	is.Equal(first.ID, ci.ID)  // a regeneration by id answers with the same id
	is.Equal(second.ID, ci.ID) // every time

	after := h.list(t, own)
	is.Equal(len(after), len(before)) // no secret more, none fewer
	ids := func(list []secretView) (out []string) {
		for _, s := range list {
			out = append(out, s.ID)
		}
		return out
	}
	if diff := cmp.Diff(ids(before), ids(after)); diff != "" {
		t.Errorf("ids after three regenerations (-before +after):\n%s", diff) // the same secrets, in the same order
	}
	is.Equal(after[0].Hint, hint(own))           // each with its latest value
	is.Equal(after[1].Hint, hint(second.Secret)) // shown by its hint
	for i := range after {
		is.True(after[i].CreatedAt.Equal(before[i].CreatedAt))        // created when it was
		is.Equal(after[i].Name, before[i].Name)                       // named as it was
		is.Equal(after[i].UsedForWebhooks, before[i].UsedForWebhooks) // designated as it was
	}
}

// TestConcurrentSelfRegeneration sends the integrator's regeneration
// several times at once with the same key and no grace window. Each
// request was let in while the key was current, so each would hand out a
// new value; but only the first to commit may, since every later one
// would replace, and so kill, the value the one before handed out. The
// others answer 412, and the one value handed out is the one that works.
// It runs over every store the service can use, the SQL ones with their
// own compare-and-swap, and over PostgreSQL with the requests spread over
// two replicas sharing the database.
func TestConcurrentSelfRegeneration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stores func(t *testing.T) []store.Store // one per replica
	}{
		{"memstore", func(*testing.T) []store.Store { return []store.Store{memstore.New()} }},
		{"sqlite", func(t *testing.T) []store.Store { return []store.Store{sqlstoretest.SQLite(t).Open(t)} }},
		{"postgres replicas", func(t *testing.T) []store.Store {
			db := sqlstoretest.Postgres(t) // skips without ROTOR_POSTGRES_DSN
			return []store.Store{db.Open(t), db.Open(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			const n = 5
			// Every request authenticates before any regenerates, so all
			// of them race on one current value; else a late one would be
			// refused 401 for a key already dead, which proves nothing.
			gate := newLookupGate()
			ring := secretstest.Keyring(t) // replicas share one
			var replicas []*harness
			for _, st := range tc.stores(t) {
				replicas = append(replicas, newHarness(t, Options{Store: &gatedStore{Store: st, gate: gate}, Keyring: ring}))
			}
			_, oldKey := replicas[0].owner(t, "acme")
			id := replicas[0].list(t, oldKey)[0].ID

			gate.hold(n)
			replies := make([]response, n)
			errs := make([]error, n)
			ctx := t.Context()
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					h := replicas[i%len(replicas)]
					replies[i], errs[i] = h.roundTrip(ctx, http.MethodPost, regenerateOwn, "Bearer "+oldKey, `{"oldSecretValidForSeconds": 0}`)
				})
			}
			wg.Wait()
			is.True(gate.released()) // all of them were let in before any regenerated

			var winner string
			wins := 0
			for i, r := range replies {
				is.NoErr(errs[i]) // every request is answered
				if r.status == http.StatusOK {
					wins++
					winner = ok[map[string]string](t, r, http.StatusOK)["secret"]
					continue
				}
				problem(t, r, regenerateOwn, rotationhttp.Problem{
					Status: http.StatusPreconditionFailed, Code: rotationhttp.CodeSecretChanged, ResourceType: "secret", ResourceID: id,
				}) // the others are told the secret changed under them
			}
			is.Equal(wins, 1) // exactly one request regenerated

			for _, h := range replicas {
				is.Equal(h.do(t, http.MethodGet, "/v1/secrets", oldKey, "").status, http.StatusUnauthorized) // the old key is refused, on every replica
				list := h.list(t, winner)                                                                    // the winner's new key works
				is.Equal(len(list), 1)                                                                       // one secret
				is.Equal(list[0].ID, id)                                                                     // the same one
				is.Equal(list[0].Hint, hint(winner))                                                         // whose value is the one handed out
			}
		})
	}
}

// TestRegenerateOwnWithPreviousValue checks the integrator route for a
// caller that still holds the old value inside its grace window, such
// as one whose reply to a regeneration was lost: it may regenerate
// again, and gets a value that works.
func TestRegenerateOwnWithPreviousValue(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, oldKey := h.owner(t, "acme")
	id := h.list(t, oldKey)[0].ID
	lost := ok[map[string]string](t, h.do(t, http.MethodPost, regenerateOwn, oldKey, `{"oldSecretValidForSeconds": 600}`), http.StatusOK)["secret"]

	h.clock.Advance(time.Minute)
	reply := ok[map[string]string](t, h.do(t, http.MethodPost, regenerateOwn, oldKey, `{"oldSecretValidForSeconds": 60}`), http.StatusOK)
	newKey := reply["secret"]
	is.Equal(reply["oldSecretExpiresAt"], start.Add(2*time.Minute).Format(time.RFC3339)) // the value it replaced gets the window asked for

	list := h.list(t, newKey)
	is.Equal(len(list), 1)               // still one secret
	is.Equal(list[0].ID, id)             // the same one
	is.Equal(list[0].Hint, hint(newKey)) // with the value just handed out
	var hints []string
	for _, p := range list[0].Previous {
		hints = append(hints, p.Hint)
	}
	is.Equal(hints, []string{hint(lost), hint(oldKey)})                                // the values before it, newest first, each in its own window
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", oldKey, "").status, http.StatusOK) // the old key keeps its ten minutes
}

func TestUnauthorized(t *testing.T) {
	// Lookups fail for the cases that must be settled without one: a
	// lookup there would answer 503, not 401.
	st := &outage{Store: memstore.New()}
	h := newHarness(t, Options{Store: st})
	_, key := h.owner(t, "acme")
	unknown, err := secrets.Format("sk_live").Generate()
	is.New(t).NoErr(err) // a well-formed key that was never issued
	// Change one character: the checksum catches it before any lookup.
	swap := "A"
	if key[10] == 'A' {
		swap = "B"
	}
	mangled := key[:10] + swap + key[11:]

	for _, tc := range []struct {
		name          string
		authorization string
		lookup        bool // whether the key reaches the store
		code          string
		challenge     string
	}{
		{"no header", "", false, rotationhttp.CodeMissingAPIToken, `Bearer realm="rotor-example", scope="secrets:read"`},
		{"another scheme", "Basic YWNtZTpzZWNyZXQ=", false, rotationhttp.CodeMissingAPIToken, `Bearer realm="rotor-example", scope="secrets:read"`},
		{"garbage", "Bearer not-a-key", false, rotationhttp.CodeInvalidAPIToken, `Bearer realm="rotor-example", error="invalid_token", scope="secrets:read"`},
		{"bad checksum", "Bearer " + mangled, false, rotationhttp.CodeInvalidAPIToken, `Bearer realm="rotor-example", error="invalid_token", scope="secrets:read"`},
		{"unknown", "Bearer " + unknown.Reveal(), true, rotationhttp.CodeInvalidAPIToken, `Bearer realm="rotor-example", error="invalid_token", scope="secrets:read"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			if tc.lookup {
				// The outage is real: with lookups failing, this key
				// gets 503, so the cases above would too had they
				// reached the store.
				st.lookupsDown.Store(true)
				r := h.send(t, http.MethodGet, "/v1/secrets", tc.authorization, "")
				st.lookupsDown.Store(false)
				problem(t, r, "/v1/secrets", rotationhttp.Problem{Status: http.StatusServiceUnavailable, Code: rotationhttp.CodeServiceUnavailable})
			}
			st.lookupsDown.Store(!tc.lookup)
			defer st.lookupsDown.Store(false)
			r := h.send(t, http.MethodGet, "/v1/secrets", tc.authorization, "")
			problem(t, r, "/v1/secrets", rotationhttp.Problem{Status: http.StatusUnauthorized, Code: tc.code, Realm: realm, Scope: scopeRead})
			is.Equal(r.header.Get("WWW-Authenticate"), tc.challenge) // the challenge RFC 6750 asks for
		})
	}
}

func TestForbidden(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	ctx := t.Context()
	// The service gives every key all its scopes and any network; keys
	// with less come from elsewhere, here straight from the Rotator over
	// the same store.
	readOnly, err := h.srv.rot.Create(ctx, "own_readonly", rotation.Spec{Name: "read only", HMAC: true, Scopes: []string{scopeRead}})
	is.NoErr(err) // a key with one scope
	h.remember(readOnly.Value.Reveal())
	office, err := h.srv.rot.Create(ctx, "own_office", rotation.Spec{
		Name: "office only", HMAC: true, Scopes: allScopes, Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	})
	is.NoErr(err) // a key for one network
	h.remember(office.Value.Reveal())

	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", readOnly.Value.Reveal(), "").status, http.StatusOK) // the scope it has is enough to read
	r := h.do(t, http.MethodPost, "/v1/secrets", readOnly.Value.Reveal(), `{"name": "more"}`)
	problem(t, r, "/v1/secrets", rotationhttp.Problem{Status: http.StatusForbidden, Code: rotationhttp.CodeScopeNotGranted, Realm: realm, Scope: scopeWrite})
	is.Equal(r.header.Get("WWW-Authenticate"), `Bearer realm="rotor-example", error="insufficient_scope", scope="secrets:write"`) // RFC 6750

	r = h.do(t, http.MethodGet, "/v1/secrets", office.Value.Reveal(), "")
	problem(t, r, "/v1/secrets", rotationhttp.Problem{
		Status: http.StatusForbidden, Code: rotationhttp.CodeUnauthorizedNetwork, IPAddress: netip.MustParseAddr(localhost),
	}) // a key used outside its networks
}

func TestNotFound(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	_, otherKey := h.owner(t, "globex")
	theirs := h.list(t, otherKey)[0].ID

	for _, tc := range []struct{ method, path, id string }{
		{http.MethodDelete, "/v1/secrets/sec_nosuchsecretnosuchsecretxx", "sec_nosuchsecretnosuchsecretxx"},
		{http.MethodPost, "/v1/secrets/sec_nosuchsecretnosuchsecretxx/regenerate", "sec_nosuchsecretnosuchsecretxx"},
		{http.MethodPost, "/v1/secrets/sec_nosuchsecretnosuchsecretxx/use-for-webhooks", "sec_nosuchsecretnosuchsecretxx"},
		{http.MethodDelete, "/v1/secrets/" + theirs, theirs}, // another owner's secret is not there at all
		{http.MethodPost, "/v1/secrets/" + theirs + "/regenerate", theirs},
	} {
		r := h.do(t, tc.method, tc.path, key, "")
		problem(t, r, tc.path, rotationhttp.Problem{
			Status: http.StatusNotFound, Code: rotationhttp.CodeAPITokenNotFound, ResourceType: "secret", ResourceID: tc.id,
		})
	}
	is.Equal(len(h.list(t, otherKey)), 1) // the other owner's secret is untouched
}

func TestLimitOfActiveSecrets(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	create := func(name string) response {
		return h.do(t, http.MethodPost, "/v1/secrets", key, `{"name": "`+name+`"}`)
	}

	second := ok[issuedView](t, create("second"), http.StatusCreated)
	want := issuedView{
		secretView: secretView{ID: second.ID, Name: "second", Hint: hint(second.Secret), CreatedAt: start, Status: "active", Previous: []previousView{}},
		shownOnce:  shownOnce{Secret: second.Secret},
	}
	if diff := cmp.Diff(want, second, cmp.AllowUnexported(issuedView{})); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", second.Secret, "").status, http.StatusOK) // the new key works at once
	third := ok[issuedView](t, create("third"), http.StatusCreated)

	limit := rotationhttp.Problem{Status: http.StatusConflict, Code: rotationhttp.CodeLimitReached, Limit: 3}
	problem(t, create("fourth"), "/v1/secrets", limit) // three are active

	// A regeneration neither needs room nor makes any: the old value, in
	// its grace window, is no secret of its own. Delete one, and there is
	// room for one more.
	ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets/"+second.ID+"/regenerate", key, `{"oldSecretValidForSeconds": 3600}`), http.StatusOK)
	problem(t, create("fourth"), "/v1/secrets", limit) // still three active
	is.Equal(h.do(t, http.MethodDelete, "/v1/secrets/"+third.ID, key, "").status, http.StatusNoContent)
	ok[issuedView](t, create("fourth"), http.StatusCreated)

	var statuses []string
	var inGrace int
	for _, s := range h.list(t, key) {
		statuses = append(statuses, s.Status)
		inGrace += len(s.Previous)
	}
	is.Equal(statuses, []string{"active", "active", "active"}) // three secrets, all active
	is.Equal(inGrace, 1)                                       // one of them with its old value in its window
}

func TestDesignation(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	first := h.list(t, key)[0]
	is.True(first.UsedForWebhooks) // the first secret signs webhooks
	second := ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets", key, `{"name": "second"}`), http.StatusCreated)
	is.True(!second.UsedForWebhooks) // later ones do not

	problem(t, h.do(t, http.MethodDelete, "/v1/secrets/"+first.ID, key, ""), "/v1/secrets/"+first.ID, rotationhttp.Problem{
		Status: http.StatusConflict, Code: rotationhttp.CodeDesignatedSecret, ResourceType: "secret", ResourceID: first.ID,
	}) // the designated secret cannot be deleted

	path := "/v1/secrets/" + second.ID + "/use-for-webhooks"
	moved := ok[secretView](t, h.do(t, http.MethodPost, path, key, ""), http.StatusOK)
	is.Equal(moved.ID, second.ID)  // the reply shows the secret
	is.True(moved.UsedForWebhooks) // now designated
	list := h.list(t, key)
	is.Equal([]bool{list[0].UsedForWebhooks, list[1].UsedForWebhooks}, []bool{false, true}) // one designated at a time

	is.Equal(h.do(t, http.MethodDelete, "/v1/secrets/"+first.ID, second.Secret, "").status, http.StatusNoContent) // now it can go
	is.Equal(len(h.list(t, second.Secret)), 1)                                                                    // for good
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", key, "").status, http.StatusUnauthorized)                     // and its key with it

	// Regenerating the designated secret keeps the designation where it
	// is: with the secret, whatever its value.
	regen := ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets/"+second.ID+"/regenerate", second.Secret, `{"oldSecretValidForSeconds": 60}`), http.StatusOK)
	is.Equal(regen.ID, second.ID)  // the same secret
	is.True(regen.UsedForWebhooks) // still designated
	again := ok[secretView](t, h.do(t, http.MethodPost, path, regen.Secret, ""), http.StatusOK)
	is.True(again.UsedForWebhooks) // designating it again changes nothing
	problem(t, h.do(t, http.MethodDelete, "/v1/secrets/"+second.ID, regen.Secret, ""), "/v1/secrets/"+second.ID, rotationhttp.Problem{
		Status: http.StatusConflict, Code: rotationhttp.CodeDesignatedSecret, ResourceType: "secret", ResourceID: second.ID,
	}) // and it still cannot be deleted
}

func TestCustomSecretCannotBeRegenerated(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	owner, key := h.owner(t, "acme")
	// The service makes managed secrets only; a custom one (say, imported
	// from an older system) is made here through the Rotator.
	custom, err := h.srv.rot.Create(t.Context(), owner, rotation.Spec{Name: "imported", Custom: true, HMAC: true, Scopes: allScopes})
	is.NoErr(err) // a custom secret
	h.remember(custom.Value.Reveal())

	path := "/v1/secrets/" + custom.ID + "/regenerate"
	want := rotationhttp.Problem{Status: http.StatusConflict, Code: rotationhttp.CodeCustomSecret, ResourceType: "secret", ResourceID: custom.ID}
	problem(t, h.do(t, http.MethodPost, path, key, ""), path, want)
	problem(t, h.do(t, http.MethodPost, regenerateOwn, custom.Value.Reveal(), ""), regenerateOwn, want)  // nor by itself
	is.Equal(h.do(t, http.MethodDelete, "/v1/secrets/"+custom.ID, key, "").status, http.StatusNoContent) // it can only be deleted
}

func TestBadGraceChangesNothing(t *testing.T) {
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	id := h.list(t, key)[0].ID
	const field = rotationhttp.GraceField
	for _, tc := range []struct {
		name, body, field string
	}{
		{"fraction", `{"oldSecretValidForSeconds": 1.5}`, field},
		{"string", `{"oldSecretValidForSeconds": "10"}`, field},
		{"negative", `{"oldSecretValidForSeconds": -1}`, field},
		{"above the bound", `{"oldSecretValidForSeconds": 3601}`, field},
		{"null", `{"oldSecretValidForSeconds": null}`, field},
		{"unknown member", `{"oldSecretValidForSeconds": 10, "force": true}`, "force"},
		{"repeated member", `{"oldSecretValidForSeconds": 10, "oldSecretValidForSeconds": 20}`, field},
		{"malformed", `{"oldSecretValidForSeconds": 10`, "body"},
		{"not an object", `[10]`, "body"},
		{"trailing data", `{"oldSecretValidForSeconds": 10} {}`, "body"},
	} {
		for _, path := range []string{regenerateOwn, "/v1/secrets/" + id + "/regenerate"} {
			t.Run(tc.name+path, func(t *testing.T) {
				before := h.list(t, key)
				r := h.do(t, http.MethodPost, path, key, tc.body)
				problem(t, r, path, rotationhttp.Problem{
					Status: http.StatusUnprocessableEntity, Code: rotationhttp.CodeValidationError,
					Errors: []rotationhttp.FieldError{{Field: tc.field}},
				})
				if diff := cmp.Diff(before, h.list(t, key)); diff != "" {
					t.Errorf("secrets changed by a bad request (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	huge := `{"name": "` + strings.Repeat("x", rotationhttp.MaxBody) + `"}`
	before := h.list(t, key)
	for _, path := range []string{regenerateOwn, "/v1/secrets"} {
		problem(t, h.do(t, http.MethodPost, path, key, huge), path, rotationhttp.Problem{
			Status: http.StatusRequestEntityTooLarge, Code: rotationhttp.CodeBodyTooLarge,
		})
	}
	if diff := cmp.Diff(before, h.list(t, key)); diff != "" {
		t.Errorf("secrets changed by a refused request (-before +after):\n%s", diff)
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	for _, tc := range []struct{ name, body, field string }{
		{"no body", "", "name"},
		{"empty name", `{"name": ""}`, "name"},
		{"long name", `{"name": "` + strings.Repeat("x", rotation.MaxNameLen+1) + `"}`, "name"},
		{"number", `{"name": 5}`, "name"},
		{"own value", `{"name": "mine", "secret": "sk_live_chosen"}`, "secret"}, // values are generated, never chosen
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem(t, h.do(t, http.MethodPost, "/v1/secrets", key, tc.body), "/v1/secrets", rotationhttp.Problem{
				Status: http.StatusUnprocessableEntity, Code: rotationhttp.CodeValidationError,
				Errors: []rotationhttp.FieldError{{Field: tc.field}},
			})
		})
	}
	is := is.New(t)
	is.Equal(len(h.list(t, key)), 1) // nothing was created
	longest := strings.Repeat("x", rotation.MaxNameLen)
	created := ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets", key, `{"name": "`+longest+`"}`), http.StatusCreated)
	is.Equal(created.Name, longest) // the longest name allowed is accepted
}

func TestRateLimit(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{RateLimit: 2}) // two requests a minute: one every 30 s once the burst is spent
	owner, key := h.owner(t, "acme")
	get := func() response { return h.do(t, http.MethodGet, "/v1/secrets", key, "") }

	is.Equal(get().status, http.StatusOK) // the first
	is.Equal(get().status, http.StatusOK) // and the second
	r := get()
	problem(t, r, "/v1/secrets", rotationhttp.Problem{Status: http.StatusTooManyRequests, Code: rotationhttp.CodeRateLimitReached, TotalPermitted: 2})
	is.Equal(r.header.Get("Retry-After"), "30") // when the next one is allowed

	h.clock.Advance(29 * time.Second)
	r = get()
	is.Equal(r.status, http.StatusTooManyRequests) // not yet
	is.Equal(r.header.Get("Retry-After"), "1")     // one second to go
	h.clock.Advance(time.Second)
	is.Equal(get().status, http.StatusOK) // allowed again

	// The budget is the secret's, not a value's: a regeneration gives no
	// fresh minute, and the old value and the new share what is left.
	h.clock.Advance(time.Minute) // the budget is whole again
	list, err := h.srv.rot.List(t.Context(), owner)
	is.NoErr(err) // read without a request, which would take from the budget
	res, err := h.srv.rot.Regenerate(t.Context(), owner, list[0].ID, time.Hour)
	is.NoErr(err) // regenerated with a window, straight through the Rotator
	newKey := res.Value.Reveal()
	h.remember(newKey)
	is.Equal(get().status, http.StatusOK)                                                           // the old value takes one
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", newKey, "").status, http.StatusOK)              // the new one takes the other
	is.Equal(h.do(t, http.MethodGet, "/v1/secrets", newKey, "").status, http.StatusTooManyRequests) // and neither has any left
	is.Equal(get().status, http.StatusTooManyRequests)
}

func TestWebhookTest(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	owner, oldKey := h.owner(t, "acme")
	send := func(key string) (http.Header, []byte) {
		t.Helper()
		got := ok[webhookView](t, h.do(t, http.MethodPost, "/v1/webhooks/test", key, ""), http.StatusOK)
		header := make(http.Header)
		for name, value := range got.Headers {
			header.Set(name, value)
		}
		return header, []byte(got.Body)
	}
	// A customer's receiver knows only the secret it was shown.
	receiver := func(key string) func(http.Header, []byte) error {
		k, err := hmacsign.NewKey("mine", secrets.NewValue(key), time.Time{})
		is.NoErr(err) // the customer's key
		v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{k}, &hmacsign.VerifierOptions{Now: h.clock.Now})
		is.NoErr(err) // default options are in range
		return func(header http.Header, body []byte) error {
			_, err := v.VerifyRequest(t.Context(), owner, header, body)
			return err
		}
	}
	withOld := receiver(oldKey)

	header, body := send(oldKey)
	is.Equal(header.Get("webhook-timestamp"), "1795424400")           // the service's clock
	is.True(strings.HasPrefix(header.Get("webhook-id"), "msg_"))      // a fresh message id
	is.Equal(len(strings.Fields(header.Get("webhook-signature"))), 1) // one secret signs
	var event testEvent
	is.NoErr(json.Unmarshal(body, &event)) // the body is the event
	if diff := cmp.Diff(testEvent{Type: "webhook.test", Timestamp: start, Data: map[string]string{"owner": owner}}, event); diff != "" {
		t.Errorf("test event (-want +got):\n%s", diff)
	}
	is.NoErr(withOld(header, body))                                                      // the receiver verifies it
	is.True(errors.Is(withOld(header, append(body, ' ')), hmacsign.ErrInvalidSignature)) // and not a changed body

	// In a grace window each message carries both secrets' signatures,
	// so receivers verify with either.
	newKey := ok[map[string]string](t, h.do(t, http.MethodPost, regenerateOwn, oldKey, `{"oldSecretValidForSeconds": 600}`), http.StatusOK)["secret"]
	withNew := receiver(newKey)
	header, body = send(newKey)
	is.Equal(len(strings.Fields(header.Get("webhook-signature"))), 2) // the new secret's and the old one's
	is.NoErr(withOld(header, body))                                   // a receiver not yet updated verifies
	is.NoErr(withNew(header, body))                                   // so does an updated one

	h.clock.Advance(10 * time.Minute)
	header, body = send(newKey)
	is.Equal(len(strings.Fields(header.Get("webhook-signature"))), 1)       // after the window, only the new one
	is.True(errors.Is(withOld(header, body), hmacsign.ErrInvalidSignature)) // the old secret no longer verifies
	is.NoErr(withNew(header, body))                                         // the new one does
	own, err := hmacsign.NewVerifier(h.srv.rot, &hmacsign.VerifierOptions{Now: h.clock.Now})
	is.NoErr(err) // default options are in range
	_, err = own.VerifyRequest(t.Context(), owner, header, body)
	is.NoErr(err) // and the service's own verifier agrees

	problem(t, h.do(t, http.MethodPost, "/v1/webhooks/test", newKey, `{"event": "x"}`), "/v1/webhooks/test", rotationhttp.Problem{
		Status: http.StatusUnprocessableEntity, Code: rotationhttp.CodeValidationError,
		Errors: []rotationhttp.FieldError{{Field: "event"}},
	}) // the body may be empty or {}, nothing else
}

func TestListShowsLastUse(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	second := ok[issuedView](t, h.do(t, http.MethodPost, "/v1/secrets", key, `{"name": "second"}`), http.StatusCreated)
	is.Equal(second.LastUsedAt, (*time.Time)(nil)) // never used yet
	is.Equal(second.LastUsedIP, (*string)(nil))    // shown as null

	h.clock.Advance(time.Hour)
	list := h.list(t, second.Secret)
	is.True(list[0].LastUsedAt.Equal(start))                // the first key was last used to create the second
	is.True(list[1].LastUsedAt.Equal(start.Add(time.Hour))) // the second, just now
	is.Equal(*list[1].LastUsedIP, localhost)                // from here
}

// outage is a store whose Load fails while down is set, and whose Lookup
// fails while lookupsDown is, as a database that cannot be reached does.
// Apart, they let a test fail the handlers' reads and not authentication,
// or authentication alone.
type outage struct {
	store.Store
	down        atomic.Bool
	lookupsDown atomic.Bool
}

var errUnreachable = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")

func (o *outage) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if o.down.Load() {
		return store.Keyset{}, &store.OpError{Op: "load", Owner: owner, Err: errUnreachable}
	}
	return o.Store.Load(ctx, owner)
}

func (o *outage) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if o.lookupsDown.Load() {
		return store.Match{}, &store.OpError{Op: "lookup", Err: errUnreachable}
	}
	return o.Store.Lookup(ctx, d)
}

// gatedStore is a store whose lookups, which authenticate requests, wait
// at gate with what they found.
type gatedStore struct {
	store.Store
	gate *lookupGate
}

func (s *gatedStore) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	m, err := s.Store.Lookup(ctx, d)
	if werr := s.gate.wait(ctx); werr != nil {
		return store.Match{}, werr
	}
	return m, err
}

// lookupGate holds lookups, once told how many to hold, until that many
// have arrived, and then lets them all go on together: the requests they
// authenticate are all let in before any of them does anything. Lookups
// pass straight through while it holds none. It is safe for concurrent
// use; several stores, one per replica, may share one.
type lookupGate struct {
	mu      sync.Mutex    // guards waiting and open
	waiting int           // lookups still to arrive before the gate opens
	open    chan struct{} // closed when the last of them arrives
}

func newLookupGate() *lookupGate { return &lookupGate{} }

// hold makes the next n lookups wait for one another.
func (g *lookupGate) hold(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting, g.open = n, make(chan struct{})
}

// released reports whether every lookup held has arrived.
func (g *lookupGate) released() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open != nil && g.waiting == 0
}

func (g *lookupGate) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.waiting == 0 {
		g.mu.Unlock()
		return nil
	}
	g.waiting--
	open := g.open
	if g.waiting == 0 {
		close(open)
	}
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return nil // bounds a failure only: released then reports false
	}
}

func TestStoreUnavailable(t *testing.T) {
	is := is.New(t)
	st := &outage{Store: memstore.New()}
	h := newHarness(t, Options{Store: st})
	_, key := h.owner(t, "acme")
	before := h.list(t, key)

	st.down.Store(true)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/secrets", ""},
		{http.MethodPost, regenerateOwn, `{"oldSecretValidForSeconds": 60}`},
	} {
		r := h.do(t, tc.method, tc.path, key, tc.body)
		problem(t, r, tc.path, rotationhttp.Problem{Status: http.StatusServiceUnavailable, Code: rotationhttp.CodeServiceUnavailable})
		is.True(!strings.Contains(string(r.body), "10.0.0.5")) // nothing internal reaches the client
	}
	is.True(strings.Contains(h.logs.String(), "level=WARN")) // but the operator hears of it
	is.True(strings.Contains(h.logs.String(), "10.0.0.5"))   // with the cause

	st.down.Store(false)
	if diff := cmp.Diff(before, h.list(t, key)); diff != "" {
		t.Errorf("secrets changed by a failed request (-before +after):\n%s", diff)
	}
}

func TestRequestLogNamesRoutesNotPaths(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, Options{})
	_, key := h.owner(t, "acme")
	pasted, err := secrets.Format("sk_live").Generate()
	is.NoErr(err)               // a key a client pastes where an id belongs
	h.remember(pasted.Reveal()) // so that no log line at all may hold it
	for _, r := range []response{
		h.do(t, http.MethodDelete, "/v1/secrets/"+pasted.Reveal(), key, ""),
		h.do(t, http.MethodGet, "/no/such/route/"+pasted.Reveal(), key, ""),
	} {
		is.Equal(r.status, http.StatusNotFound)                // neither is found
		secretstest.NoLeak(t, string(r.body), pasted.Reveal()) // and no reply repeats the path
	}

	var requests []string
	for line := range strings.Lines(h.logs.String()) {
		if strings.Contains(line, "msg=request") {
			requests = append(requests, line)
		}
	}
	is.Equal(len(requests), 2)                                                // one line per request
	is.True(strings.Contains(requests[0], `route="DELETE /v1/secrets/{id}"`)) // the route matched
	is.True(strings.Contains(requests[0], "status=404"))                      // and the answer
	is.True(strings.Contains(requests[1], "route=none"))                      // no route matched
	secretstest.NoLeak(t, strings.Join(requests, ""), pasted.Reveal())        // the path is not logged; the harness checks every other line
}
