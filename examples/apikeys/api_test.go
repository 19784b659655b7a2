package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"
)

// readKey is the body of a secret key that may only read.
const readKey = `{"name": "reader", "type": "SECRET", "permissions": {"account:api:key": ["read"]}}`

func TestCreateShowsTheKeyOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		res := h.do(t, "POST", "/v1/api-keys", h.live, `{"name": "checkout", "type": "SECRET",
			"permissions": {"account:api:key": ["read", "update"]}, "metadata": {"team": "payments"}}`)
		is.Equal(res.status, http.StatusCreated) // a key is created
		var got map[string]any
		is.NoErr(json.Unmarshal(res.body, &got)) // the reply is a JSON object
		data, _ := got["data"].(map[string]any)
		id, _ := data["id"].(string)
		key, _ := data["key"].(string)
		is.True(strings.HasPrefix(id, "sec_"))      // the key has an id
		is.True(strings.HasPrefix(key, "sk_live_")) // its value is a live secret key
		want := map[string]any{"message": "success", "success": true, "data": map[string]any{
			"object": "api_key", "id": id, "account_id": "acme", "name": "checkout", "type": "SECRET", "key": key,
			"last_used_ip": nil, "metadata": map[string]any{"team": "payments"},
			"permissions": map[string]any{"account:api:key": []any{"read", "update"}},
			"status":      "ACTIVE", "last_used_at": nil, "expires_at": nil, "managed": true, "deleted": false,
			"created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z",
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the reply to a create (-want +got):\n%s", diff)
		}

		shown := h.do(t, "GET", "/v1/api-keys/"+id, h.live, "").key(t, http.StatusOK)
		is.Equal(shown.ID, id)                                                                         // the key is found by its id
		is.Equal(shown.Key, "")                                                                        // its value is never shown again
		is.True(!bytes.Contains(h.do(t, "GET", "/v1/api-keys/"+id, h.live, "").body, []byte(`"key"`))) // not even as a member
		listed := h.do(t, "GET", "/v1/api-keys", h.live, "").keys(t)
		is.Equal(len(listed), 2)              // the owner key and the new one are listed
		is.Equal(listed[1].ID, id)            // oldest first
		is.Equal(listed[1].Key, "")           // without their values
		is.Equal(listed[0].Name, "owner key") // the first is -create-owner's
	})
}

func TestLastUse(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, readKey)
		is.Equal(k.LastUsedAt, nil) // a new key has not been used
		is.Equal(k.LastUsedIP, nil) // from anywhere
		h.clock.Advance(time.Minute)
		is.True(h.works(t, k.Key)) // the key works
		shown := h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").key(t, http.StatusOK)
		is.True(shown.LastUsedAt != nil && *shown.LastUsedAt == "2026-11-23T09:01:00Z") // its last use is shown
		is.True(shown.LastUsedIP != nil && *shown.LastUsedIP == clientIP)               // with the client's address
	})
}

func TestRegenerate(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, readKey)
		h.clock.Advance(time.Minute)
		got := h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", h.live, "").key(t, http.StatusOK)
		is.Equal(got.ID, k.ID)                                              // the key keeps its id
		is.True(strings.HasPrefix(got.Key, "sk_live_") && got.Key != k.Key) // and gets a new value
		is.Equal(got.Permissions, k.Permissions)                            // and keeps its permissions
		is.Equal(*got.CreatedAt, *k.CreatedAt)                              // and its creation time
		is.Equal(*got.UpdatedAt, "2026-11-23T09:01:00Z")                    // it was updated now
		is.True(!h.works(t, k.Key))                                         // the old value dies at once
		is.True(h.works(t, got.Key))                                        // the new one works
		is.Equal(len(h.ids(t, h.live)), 2)                                  // it is still one key, beside the owner\'s
		// The new value holds the key\'s permissions, and no others.
		h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", got.Key, "").failed(t, http.StatusForbidden, 4031)
	})
}

func TestRegenerateNeedsThePermission(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		reader := h.create(t, h.live, readKey)
		other := h.create(t, h.live, readKey)
		for _, id := range []string{reader.ID, other.ID} {
			details := h.do(t, "POST", "/v1/api-keys/"+id+"/regenerate", reader.Key, "").failed(t, http.StatusForbidden, 4031)
			is.Equal(details, map[string]any{"permission": "account:api:key:update"}) // the permission it needs is named
		}
		is.True(h.works(t, reader.Key)) // nothing was regenerated
		is.True(h.works(t, other.Key))  // of either key

		updater := h.create(t, h.live, `{"type": "SECRET", "permissions": {"account:api:key": ["update"]}}`)
		got := h.do(t, "POST", "/v1/api-keys/"+other.ID+"/regenerate", updater.Key, "").key(t, http.StatusOK)
		is.Equal(got.ID, other.ID)      // with the permission, it may
		is.True(!h.works(t, other.Key)) // and the old value is dead
	})
}

func TestEveryRouteNeedsItsPermission(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, readKey)
		none := h.create(t, h.live, `{"type": "SECRET"}`)
		for _, c := range []struct{ method, path, key, permission string }{
			{"POST", "/v1/api-keys", k.Key, "account:api:key:create"},
			{"DELETE", "/v1/api-keys/" + k.ID, k.Key, "account:api:key:delete"},
			{"POST", "/v1/api-keys/" + k.ID + "/regenerate", k.Key, "account:api:key:update"},
			{"GET", "/v1/api-keys", none.Key, "account:api:key:read"},
			{"GET", "/v1/api-keys/" + k.ID, none.Key, "account:api:key:read"},
		} {
			details := h.do(t, c.method, c.path, c.key, readKey).failed(t, http.StatusForbidden, 4031)
			is.Equal(details["permission"], c.permission) // each route names the permission it needs
		}
		is.Equal(len(h.ids(t, h.live)), 3) // nothing was created or deleted
	})
}

func TestNoKeyGrantsMoreThanItHolds(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		creator := h.create(t, h.live, `{"type": "SECRET", "permissions": {"account:api:key": ["create", "read"]}}`)
		h.do(t, "POST", "/v1/api-keys", creator.Key, `{"type": "SECRET", "permissions": {"account:api:key": ["read", "delete"]}}`).
			failed(t, http.StatusForbidden, 4032)
		details := h.do(t, "POST", "/v1/api-keys", creator.Key, `{"type": "SECRET", "permissions": {"account:api": ["key:update"]}}`).
			failed(t, http.StatusUnprocessableEntity, 4220) // a permission written another way is refused
		is.Equal(details["permissions.account:api[0]"], "must be an action: a non-empty string without ':'") // naming the action
		is.Equal(len(h.ids(t, h.live)), 2)                                                                   // nothing was created
		k := h.create(t, creator.Key, readKey)
		is.Equal(k.Permissions, map[string][]string{"account:api:key": {"read"}}) // what it holds, it may grant
	})
}

func TestCustomKeyCannotBeRegenerated(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, `{"name": "pos", "type": "SECRET", "managed": false, "permissions": {"account:api:key": ["read"]}}`)
		is.True(!k.Managed) // the key is custom
		h.clock.Advance(time.Minute)
		details := h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", h.live, "").failed(t, http.StatusConflict, 4090)
		is.Equal(details, map[string]any{"resource_id": k.ID}) // the key is named
		is.True(h.works(t, k.Key))                             // its value still works
		after := h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").key(t, http.StatusOK)
		is.Equal(*after.UpdatedAt, *k.UpdatedAt) // nothing changed
		is.True(!after.Managed)                  // it is still custom

		gone := h.do(t, "DELETE", "/v1/api-keys/"+k.ID, h.live, "")
		gone.ok(t, http.StatusOK)   // a custom key can be deleted
		is.True(!h.works(t, k.Key)) // and then its value is dead
		h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").failed(t, http.StatusNotFound, 4040)
	})
}

func TestDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, readKey)
		res := h.do(t, "DELETE", "/v1/api-keys/"+k.ID, h.live, "")
		res.ok(t, http.StatusOK) // the key is deleted
		var got map[string]any
		is.NoErr(json.Unmarshal(res.Data, &got))                                        // the data is an object
		is.Equal(got, map[string]any{"object": "api_key", "id": k.ID, "deleted": true}) // that says so
		is.True(!h.works(t, k.Key))                                                     // its value is dead
		is.Equal(len(h.ids(t, h.live)), 1)                                              // it is no longer listed
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/api-keys/" + k.ID},
			{"DELETE", "/v1/api-keys/" + k.ID},
			{"POST", "/v1/api-keys/" + k.ID + "/regenerate"},
		} {
			details := h.do(t, c.method, c.path, h.live, "").failed(t, http.StatusNotFound, 4040)
			is.Equal(details, map[string]any{"resource_id": k.ID}) // a deleted key is not found
		}
		self := h.create(t, h.live, `{"type": "SECRET", "permissions": {"account:api:key": ["delete"]}}`)
		h.do(t, "DELETE", "/v1/api-keys/"+self.ID, self.Key, "").ok(t, http.StatusOK) // a key may delete itself
		is.True(!h.works(t, self.Key))                                                // and is gone at once
	})
}

func TestSandboxAndLiveAreApart(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		sandbox := h.create(t, h.test, readKey)
		live := h.create(t, h.live, readKey)
		is.True(strings.HasPrefix(sandbox.Key, "sk_test_")) // a key made by a sandbox key is a sandbox key
		is.True(strings.HasPrefix(live.Key, "sk_live_"))    // and one made by a live key a live key
		is.Equal(sandbox.AccountID, "acme")                 // of the same account
		pub := h.create(t, h.test, `{"type": "PUBLISHABLE"}`)
		is.True(strings.HasPrefix(pub.Key, "pk_test_")) // publishable too

		testIDs, liveIDs := h.ids(t, h.test), h.ids(t, h.live)
		is.Equal(len(testIDs), 3)                                                                            // the sandbox lists its own three keys
		is.Equal(len(liveIDs), 2)                                                                            // the live environment its own two
		is.True(!slices.Contains(testIDs, live.ID))                                                          // a sandbox key cannot see live keys
		is.True(!slices.Contains(liveIDs, sandbox.ID))                                                       // nor a live key sandbox keys
		is.True(!slices.ContainsFunc(testIDs, func(id string) bool { return slices.Contains(liveIDs, id) })) // none is in both

		for _, c := range []struct{ key, id string }{{h.test, live.ID}, {h.live, sandbox.ID}} {
			for _, r := range []struct{ method, path string }{
				{"GET", "/v1/api-keys/" + c.id},
				{"POST", "/v1/api-keys/" + c.id + "/regenerate"},
				{"DELETE", "/v1/api-keys/" + c.id},
			} {
				h.do(t, r.method, r.path, c.key, "").failed(t, http.StatusNotFound, 4040) // the other environment's keys are not there
			}
		}
		is.True(h.works(t, sandbox.Key))   // nothing was regenerated or deleted
		is.True(h.works(t, live.Key))      // on either side
		is.Equal(len(h.ids(t, h.test)), 3) // the sandbox still has its keys
		is.Equal(len(h.ids(t, h.live)), 2) // and so does the live environment
	})
}

func TestPublishableKeysAreRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		pub := h.create(t, h.live, `{"name": "web", "type": "PUBLISHABLE", "permissions": {"account:api:key": ["read"]}}`)
		is.True(strings.HasPrefix(pub.Key, "pk_live_")) // a publishable key is made
		is.Equal(pub.Type, "PUBLISHABLE")               // and shown as one
		for _, header := range []string{"Bearer " + pub.Key, "bearer   " + pub.Key + " ", "Bearer pk_test_unknown"} {
			for _, r := range []struct{ method, path string }{
				{"GET", "/v1/api-keys"},
				{"GET", "/v1/api-keys/" + pub.ID},
				{"POST", "/v1/api-keys"},
				{"DELETE", "/v1/api-keys/" + pub.ID},
				{"POST", "/v1/api-keys/" + pub.ID + "/regenerate"},
			} {
				details := h.send(t, r.method, r.path, header, strings.NewReader(readKey)).failed(t, http.StatusForbidden, 4030)
				is.Equal(details, map[string]any{}) // a publishable key is refused, whatever it holds
			}
		}
		shown := h.do(t, "GET", "/v1/api-keys/"+pub.ID, h.live, "").key(t, http.StatusOK)
		is.Equal(shown.LastUsedAt, nil)    // it was never even looked up
		is.Equal(len(h.ids(t, h.live)), 2) // and nothing was created or deleted
	})
}

func TestTokensThatAreNotSecretKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		mistyped := []byte(h.live)
		mistyped[len(mistyped)-1] ^= 1 // another character: the key no longer checks
		for _, c := range []struct {
			name, header string
			code         int
		}{
			{"no header", "", 4010},
			{"another scheme", "Basic " + h.live, 4010},
			{"a JWT", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJl", 4011},
			{"garbage", "Bearer hello", 4011},
			{"sk_ past 32 characters", "Bearer " + strings.Repeat("x", 32) + h.live, 4011},
			{"a secret key mistyped", "Bearer " + string(mistyped), 4011},
		} {
			res := h.send(t, "GET", "/v1/api-keys", c.header, nil)
			details := res.failed(t, http.StatusUnauthorized, c.code)
			is.Equal(details, map[string]any{"permission": "account:api:key:read"})                  // c.name: the route's permission is named
			is.True(strings.HasPrefix(res.header.Get("WWW-Authenticate"), `Bearer realm="hsrcpay"`)) // c.name: with a challenge
		}
	})
}

func TestMetadataRoundTrips(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		metadata := `{"order": {"id": 7, "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 0.5}]},
			"amount": 1.50, "big": 12345678901234567890, "exp": 1e3, "neg": -0.0, "none": null, "flag": false,
			"text": "caf\u00e9 \"quoted\" ünïcode", "empty": {}, "list": [], "nested": {"a": {"b": {"c": [null]}}}, "html": "<b> & </b>"}`
		k := h.create(t, h.live, `{"type": "SECRET", "metadata": `+metadata+`}`)
		var want map[string]json.RawMessage
		is.NoErr(json.Unmarshal([]byte(metadata), &want)) // each member as it was given
		for name, raw := range want {
			var b bytes.Buffer
			is.NoErr(json.Compact(&b, raw)) // the test's own JSON is well-formed
			want[name] = b.Bytes()
		}
		// The same string: encoding/json escapes <, > and & in what it sends.
		want["html"] = json.RawMessage(`"\u003cb\u003e \u0026 \u003c/b\u003e"`)
		for _, got := range []apiKey{
			k,
			h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").key(t, http.StatusOK),
			h.do(t, "GET", "/v1/api-keys", h.live, "").keys(t)[1],
			h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", h.live, "").key(t, http.StatusOK),
		} {
			if diff := cmp.Diff(want, got.Metadata, cmp.Transformer("text", func(m json.RawMessage) string { return string(m) })); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		}
		none := h.create(t, h.live, `{"type": "SECRET", "metadata": null}`)
		is.Equal(none.Metadata, map[string]json.RawMessage{}) // no metadata is an empty object
	})
}

func TestValidation(t *testing.T) {
	many := func(n, keyLen, valueLen int) string {
		var members []string
		for i := range n {
			members = append(members, fmt.Sprintf(`"%0*d": "%s"`, keyLen, i, strings.Repeat("v", valueLen)))
		}
		return `{"type": "SECRET", "metadata": {` + strings.Join(members, ",") + `}}`
	}
	scopes := slices.Repeat([]string{`"read"`}, 101) // held, so the bound is what refuses them
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		for _, c := range []struct{ name, body, field string }{
			{"no type", `{"name": "x"}`, "type"},
			{"an unknown type", `{"type": "ADMIN"}`, "type"},
			{"a type in lower case", `{"type": "secret"}`, "type"},
			{"an unknown member", `{"type": "SECRET", "colour": "red"}`, "colour"},
			{"a member named in another case", `{"Type": "SECRET"}`, "Type"},
			{"a member named as rotor names its field", `{"type": "SECRET", "Name": "x"}`, "Name"},
			{"a repeated member", `{"type": "SECRET", "type": "SECRET"}`, "type"},
			{"managed not a boolean", `{"type": "SECRET", "managed": "no"}`, "managed"},
			{"metadata not an object", `{"type": "SECRET", "metadata": [1]}`, "metadata"},
			{"51 metadata members", many(51, 2, 1), "metadata"},
			{"a metadata name of 41 bytes", many(1, 41, 1), "metadata"},
			{"a metadata value of 501 bytes", many(1, 2, 499), "metadata"},
			{"permissions not arrays of strings", `{"type": "SECRET", "permissions": {"account:api:key": "read"}}`, "permissions"},
			{"101 permissions", `{"type": "SECRET", "permissions": {"account:api:key": [` + strings.Join(scopes, ",") + `]}}`, "permissions"},
			{"a name of 201 bytes", `{"type": "SECRET", "name": "` + strings.Repeat("n", 201) + `"}`, "name"},
			{"expires_at not a time", `{"type": "SECRET", "expires_at": "tomorrow"}`, "expires_at"},
			{"expires_at a number", `{"type": "SECRET", "expires_at": 1790000000}`, "expires_at"},
			{"expires_at past", `{"type": "SECRET", "expires_at": "2026-11-23T08:59:59Z"}`, "expires_at"},
			{"expires_at now", `{"type": "SECRET", "expires_at": "2026-11-23T09:00:00Z"}`, "expires_at"},
			{"not JSON", `{"type": "SECRET"`, "body"},
			{"not an object", `["SECRET"]`, "body"},
			{"two objects", `{"type": "SECRET"} {}`, "body"},
		} {
			details := h.do(t, "POST", "/v1/api-keys", h.live, c.body).failed(t, http.StatusUnprocessableEntity, 4220)
			named := false
			for field := range details {
				named = field == c.field || strings.HasPrefix(field, c.field+"[")
			}
			if len(details) != 1 || !named {
				t.Errorf("%s: details %v, want the one field %s", c.name, details, c.field)
			}
		}
		is.Equal(len(h.ids(t, h.live)), 1) // nothing was created
		// At the bounds, it is.
		h.create(t, h.live, many(50, 40, 498))
		h.create(t, h.live, `{"type": "SECRET", "name": "`+strings.Repeat("n", 200)+`"}`)
	})
}

func TestExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, `{"type": "SECRET", "expires_at": "2026-11-23T11:00:00+01:00", "permissions": {"account:api:key": ["read"]}}`)
		is.Equal(*k.ExpiresAt, "2026-11-23T10:00:00Z") // the expiry is shown in UTC
		is.Equal(k.Status, "ACTIVE")                   // the key is active
		h.clock.Advance(59 * time.Minute)
		is.True(h.works(t, k.Key)) // until its expiry
		h.clock.Advance(time.Minute)
		is.True(!h.works(t, k.Key)) // from then on it fails
		shown := h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").key(t, http.StatusOK)
		is.Equal(shown.Status, "EXPIRED") // and is shown expired
		details := h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", h.live, "").failed(t, http.StatusConflict, 4091)
		is.Equal(details, map[string]any{"resource_id": k.ID}) // an expired key cannot be regenerated
		is.True(!h.works(t, k.Key))                            // and is not brought back
		h.do(t, "DELETE", "/v1/api-keys/"+k.ID, h.live, "").ok(t, http.StatusOK)
		h.do(t, "GET", "/v1/api-keys/"+k.ID, h.live, "").failed(t, http.StatusNotFound, 4040) // but it can be deleted
	})
}

func TestRateLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, `{"type": "SECRET", "permissions": {"account:api:key": ["read", "update"]}}`)
		for range rateLimit - 1 {
			h.do(t, "GET", "/v1/api-keys/"+k.ID, k.Key, "").ok(t, http.StatusOK)
		}
		// The last request of the minute regenerates the key, which keeps
		// its budget.
		fresh := h.do(t, "POST", "/v1/api-keys/"+k.ID+"/regenerate", k.Key, "").key(t, http.StatusOK)
		res := h.do(t, "GET", "/v1/api-keys/"+k.ID, fresh.Key, "")
		details := res.failed(t, http.StatusTooManyRequests, 4290)
		is.Equal(details, map[string]any{"total_permitted": float64(rateLimit)}) // the budget is named
		is.Equal(res.header.Get("Retry-After"), "1")                             // and when to retry: the budget refills a request each 0.6 s
		is.True(h.works(t, h.live))                                              // other keys have budgets of their own
		h.clock.Advance(600 * time.Millisecond)
		h.do(t, "GET", "/v1/api-keys/"+k.ID, fresh.Key, "").ok(t, http.StatusOK)
		h.do(t, "GET", "/v1/api-keys/"+k.ID, fresh.Key, "").failed(t, http.StatusTooManyRequests, 4290) // one request at a time
		h.clock.Advance(time.Minute)
		for range rateLimit {
			h.do(t, "GET", "/v1/api-keys/"+k.ID, fresh.Key, "").ok(t, http.StatusOK) // a minute later, the whole budget is back
		}
	})
}

func TestLimitOfActiveKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		for range maxKeys - 1 {
			h.create(t, h.live, `{"type": "PUBLISHABLE"}`)
		}
		details := h.do(t, "POST", "/v1/api-keys", h.live, `{"type": "SECRET"}`).failed(t, http.StatusConflict, 4092)
		is.Equal(details, map[string]any{"limit": float64(maxKeys)}) // the limit is named
		is.Equal(len(h.ids(t, h.live)), maxKeys)                     // and nothing was created
		h.create(t, h.test, `{"type": "SECRET"}`)                    // the sandbox has a limit of its own
		ids := h.ids(t, h.live)
		h.do(t, "DELETE", "/v1/api-keys/"+ids[len(ids)-1], h.live, "").ok(t, http.StatusOK)
		h.create(t, h.live, `{"type": "SECRET"}`) // and room is made by deleting a key
	})
}

func TestStoreDown(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		k := h.create(t, h.live, readKey)
		cold := h.replica(t)
		is.NoErr(h.store.Close()) // the store goes away
		for _, r := range []struct {
			method, path, body string
			cached             bool // whether a replica with the account cached answers it
		}{
			{"GET", "/v1/api-keys", "", true},
			{"GET", "/v1/api-keys/" + k.ID, "", true},
			{"POST", "/v1/api-keys", readKey, false},
			{"DELETE", "/v1/api-keys/" + k.ID, "", false},
			{"POST", "/v1/api-keys/" + k.ID + "/regenerate", "", false},
		} {
			details := cold.do(t, r.method, r.path, h.live, r.body).failed(t, http.StatusServiceUnavailable, 5030)
			is.Equal(details, map[string]any{}) // a replica that has cached nothing answers 503, saying nothing of the store
			if r.cached {
				h.do(t, r.method, r.path, h.live, r.body).ok(t, http.StatusOK) // one that has the account cached reads on
				continue
			}
			details = h.do(t, r.method, r.path, h.live, r.body).failed(t, http.StatusServiceUnavailable, 5030)
			is.Equal(details, map[string]any{}) // but changes nothing
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		for _, c := range []struct {
			method, path string
			status, code int
			details      map[string]any
		}{
			{"GET", "/v1/nope", 404, 4041, map[string]any{"resource_id": "/v1/nope"}},
			{"GET", "/api-keys", 404, 4041, map[string]any{"resource_id": "/api-keys"}},
			{"GET", "/v1/api-keys/", 404, 4041, map[string]any{"resource_id": "/v1/api-keys/"}},
			{"GET", "//v1//api-keys", 404, 4041, map[string]any{"resource_id": "//v1//api-keys"}},
			{"GET", "/v1/api-keys/x/regenerate", 405, 4050, map[string]any{}},
			{"PUT", "/v1/api-keys", 405, 4050, map[string]any{}},
		} {
			res := h.do(t, c.method, c.path, h.live, "")
			details := res.failed(t, c.status, c.code)
			is.Equal(details, c.details)             // the route is named, or the method refused
			is.Equal(res.header.Get("Location"), "") // never a redirect
		}
		res := h.do(t, "PUT", "/v1/api-keys", h.live, "")
		is.Equal(res.header.Get("Allow"), "GET, HEAD, POST") // the methods it takes are named
	})
}

func TestAKeyPastedIntoThePath(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1/api-keys/" + h.test},
			{"DELETE", "/v1/api-keys/" + h.test},
			{"POST", "/v1/api-keys/" + h.test + "/regenerate"},
		} {
			res := h.do(t, r.method, r.path, h.live, "")
			details := res.failed(t, http.StatusNotFound, 4040)
			is.Equal(details, map[string]any{"resource_id": "(not a secret id)"}) // the key is not repeated
			is.True(!strings.Contains(string(res.body), h.test))                  // anywhere in the reply
		}
		res := h.do(t, "GET", "/v2/"+h.test, h.live, "")
		is.True(!strings.Contains(string(res.body), h.test)) // nor in the reply to an unknown route
	})
}

func TestBodies(t *testing.T) {
	eachStore(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		large := `{"type": "SECRET", "name": "` + strings.Repeat("n", 70000) + `"}`
		details := h.do(t, "POST", "/v1/api-keys", h.live, large).failed(t, http.StatusRequestEntityTooLarge, 4130)
		is.Equal(details, map[string]any{}) // the body is refused unread
		h.send(t, "POST", "/v1/api-keys", "Bearer "+h.live, failingReader{}).failed(t, http.StatusBadRequest, 4000)
		is.Equal(len(h.ids(t, h.live)), 1) // nothing was created

		// The other routes take no body: an empty one, or {}.
		k := h.create(t, h.live, readKey)
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1/api-keys"},
			{"GET", "/v1/api-keys/" + k.ID},
			{"POST", "/v1/api-keys/" + k.ID + "/regenerate"},
			{"DELETE", "/v1/api-keys/" + k.ID},
		} {
			details := h.do(t, r.method, r.path, h.live, `{"id": "x"}`).failed(t, http.StatusUnprocessableEntity, 4220)
			is.Equal(details, map[string]any{"id": "is not a member of this request"}) // a member is refused, by name
			h.do(t, r.method, r.path, h.live, " {} ").ok(t, http.StatusOK)             // an empty object is no body
		}
		is.Equal(len(h.ids(t, h.live)), 1) // the key was deleted by {}, and not before
	})
}

// failingReader is a body that cannot be read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
