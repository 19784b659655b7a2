package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

func TestCreateOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil) // checks the two lines createOwner prints
		is := is.New(t)
		ctx := t.Context()

		s := h.only()
		is.True(s.HMAC)                                    // the secret can verify HMACs, so it is sealed
		is.Equal(string(s.Format), "sk_live")              // in the default format
		is.Equal(s.Scopes, []string{"integrator:secret"})  // with the scope the route needs of a bearer key
		is.True(s.Signing)                                 // and, as the owner's only HMAC secret, designated
		is.Equal(s.Current.Hint, h.first[len(h.first)-4:]) // the printed secret is its value

		_, err := createOwner(ctx, h.env, h.owner)
		is.True(err != nil) // an integrator is created once
		h.only()            // still with one secret

		for _, name := range []string{"", "acme corp", "-acme", "a'b", "a$b", "ünï", strings.Repeat("a", 65)} {
			_, err := createOwner(ctx, h.env, name)
			is.True(err != nil) // a name a shell or a header would not carry as it is is refused
			if list, err := h.env.Rotator.List(ctx, name); err == nil {
				is.Equal(len(list), 0) // and nothing is created
			}
		}
	})
}

// auth is a way of presenting a secret with a body.
type auth struct {
	name    string
	request func(h *harness, secret, body string) *http.Request
	// refused is the code a value that stopped working gets.
	refused string
}

var auths = []auth{
	{"signed", (*harness).signed, "no_matching_signature"},
	{"bearer", (*harness).bearer, "invalid_api_token"},
}

func TestRegenerateWithGrace(t *testing.T) {
	graces := []struct {
		name  string
		body  string
		grace time.Duration
	}{
		{"empty body", "", 0},
		{"empty object", "{}", 0},
		{"0", `{"oldSecretValidForSeconds": 0}`, 0},
		{"60", `{"oldSecretValidForSeconds": 60}`, time.Minute},
		{"60.0", `{"oldSecretValidForSeconds": 60.0}`, time.Minute},
		{"3600", `{"oldSecretValidForSeconds": 3600}`, time.Hour},
	}
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		for _, a := range auths {
			for _, g := range graces {
				t.Run(a.name+"/"+g.name, func(t *testing.T) {
					h := newHarness(t, db, nil)
					is := is.New(t)
					old := h.first

					var expires time.Time
					if g.grace > 0 {
						expires = start.Add(g.grace)
					}
					fresh := h.regenerated(h.serve(a.request(h, old, g.body)), expires) // the expiry is shown only for a window

					// The new value works at once; regenerating with it
					// and no grace leaves the old value's window as it was.
					h.regenerated(h.serve(a.request(h, fresh, "")), time.Time{})

					if g.grace > 0 {
						h.clock.Set(start.Add(g.grace - time.Nanosecond))
						h.regenerated(h.serve(a.request(h, old, "")), time.Time{}) // the old value works to the window's last instant
					}

					h.clock.Set(start.Add(g.grace))
					before := h.only()
					w := h.serve(a.request(h, old, ""))
					if diff := cmp.Diff(unauthorized(a.refused), problem(t, w, http.StatusUnauthorized)); diff != "" {
						t.Errorf("old value at the window's end (-want +got):\n%s", diff) // from its end it fails
					}
					h.unchanged(before)
					is.True(w.Header().Get("WWW-Authenticate") != "") // with a challenge

					h.regenerated(h.serve(a.request(h, h.secret, "")), time.Time{}) // the latest value still works
				})
			}
		}
	})
}

func TestSignedRequestsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		lines, err := createOwner(t.Context(), h.env, "globex")
		if err != nil {
			t.Fatal(err)
		}
		globex := strings.TrimPrefix(lines[1], "secret=")
		h.seen = append(h.seen, globex)

		for _, c := range []struct {
			name    string
			request func() *http.Request
			code    string
		}{
			{"bad signature", func() *http.Request {
				return h.request(message{secret: h.first + "x", owner: h.owner})
			}, "no_matching_signature"},
			{"another integrator's secret", func() *http.Request {
				return h.request(message{secret: globex, owner: h.owner})
			}, "no_matching_signature"},
			{"body changed after signing", func() *http.Request {
				r := h.signed(h.first, `{}`)
				body := `{"oldSecretValidForSeconds": 3600}`
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
				return r
			}, "no_matching_signature"},
			{"without Integrator-Id", func() *http.Request {
				return h.request(message{secret: h.first})
			}, "unknown_owner"},
			{"unknown integrator", func() *http.Request {
				return h.request(message{secret: h.first, owner: "initech"})
			}, "no_valid_keys"},
			{"integrator no store could hold", func() *http.Request {
				return h.request(message{secret: h.first, owner: strings.Repeat("x", 5000)})
			}, "no_valid_keys"},
			{"timestamp too old", func() *http.Request {
				return h.request(message{secret: h.first, owner: h.owner, at: start.Add(-6 * time.Minute)})
			}, "timestamp_too_old"},
			{"timestamp too new", func() *http.Request {
				return h.request(message{secret: h.first, owner: h.owner, at: start.Add(6 * time.Minute)})
			}, "timestamp_too_new"},
			{"without webhook-id", func() *http.Request {
				r := h.signed(h.first, "")
				r.Header.Del("Webhook-Id")
				return r
			}, "missing_header"},
			{"malformed signature", func() *http.Request {
				r := h.signed(h.first, "")
				r.Header.Set("Webhook-Signature", "v1,not-base64!")
				return r
			}, "malformed_header"},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				before := h.only()
				w := h.serve(c.request())
				if diff := cmp.Diff(unauthorized(c.code), problem(t, w, http.StatusUnauthorized)); diff != "" {
					t.Errorf("problem (-want +got):\n%s", diff)
				}
				is.Equal(w.Header().Get("WWW-Authenticate"), `Signature realm="integrator", scope="integrator:secret"`) // the challenge of a signed request
				h.unchanged(before)
			})
		}
		h.regenerated(h.serve(h.signed(h.first, "")), time.Time{}) // after all that, the secret still works
	})
}

func TestReplayedMessage(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		is := is.New(t)
		m := message{secret: h.first, id: "msg_once", owner: h.owner, body: `{"oldSecretValidForSeconds": 60}`}
		h.regenerated(h.serve(h.request(m)), start.Add(time.Minute))

		before := h.only()
		h.clock.Advance(time.Second) // the first value is still in its window
		w := h.serve(h.request(m))
		if diff := cmp.Diff(unauthorized("replayed"), problem(t, w, http.StatusUnauthorized)); diff != "" {
			t.Errorf("replayed message (-want +got):\n%s", diff) // the same message id is accepted once
		}
		h.unchanged(before)

		m.id = "msg_twice"
		h.regenerated(h.serve(h.request(m)), h.clock.Now().Add(time.Minute))
		is.Equal(h.only().ID, h.id) // a new message id with the same value is accepted
	})
}

func TestBearerRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		globex, err := h.env.Rotator.Create(t.Context(), "globex", rotation.Spec{HMAC: true}) // without the route's scope
		if err != nil {
			t.Fatal(err)
		}
		h.seen = append(h.seen, globex.Value.Reveal())
		bad := []byte(h.first)
		bad[len(bad)-1] ^= 1 // a bad checksum

		const (
			noToken  = `Bearer realm="integrator", scope="integrator:secret"`
			badToken = `Bearer realm="integrator", error="invalid_token", scope="integrator:secret"`
		)
		for _, c := range []struct {
			name          string
			authorization string
			status        int
			code          string
			challenge     string
		}{
			{"missing", "", 401, "missing_api_token", noToken},
			{"another scheme", "Basic YWNtZTpzZWNyZXQ=", 401, "missing_api_token", noToken},
			{"empty", "Bearer ", 401, "missing_api_token", noToken},
			{"bad checksum", "Bearer " + string(bad), 401, "invalid_api_token", badToken},
			{"unknown", "Bearer sk_live_" + strings.Repeat("A", 43), 401, "invalid_api_token", badToken},
			{"garbage", "Bearer hello", 401, "invalid_api_token", badToken},
			{"scope not granted", "Bearer " + globex.Value.Reveal(), 403, "scope_not_granted",
				`Bearer realm="integrator", error="insufficient_scope", scope="integrator:secret"`},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				before := h.only()
				r := httptest.NewRequest(http.MethodPost, route, strings.NewReader(""))
				if c.authorization != "" {
					r.Header.Set("Authorization", c.authorization)
				}
				w := h.serve(r)
				want := unauthorized(c.code)
				if c.status == http.StatusForbidden {
					want["status"], want["title"] = float64(403), "Forbidden"
				}
				if diff := cmp.Diff(want, problem(t, w, c.status)); diff != "" {
					t.Errorf("problem (-want +got):\n%s", diff)
				}
				is.Equal(w.Header().Get("WWW-Authenticate"), c.challenge) // the challenge names realm and scope
				h.unchanged(before)
			})
		}
	})
}

func TestBadGraceChangesNothing(t *testing.T) {
	const grace = "oldSecretValidForSeconds"
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		for _, a := range auths {
			t.Run(a.name, func(t *testing.T) {
				h := newHarness(t, db, nil)
				for _, c := range []struct {
					name, body, field string
				}{
					{"fraction", `{"oldSecretValidForSeconds": 1.5}`, grace},
					{"negative", `{"oldSecretValidForSeconds": -1}`, grace},
					{"above the bound", `{"oldSecretValidForSeconds": 3601}`, grace},
					{"huge", `{"oldSecretValidForSeconds": 1e300}`, grace},
					{"string", `{"oldSecretValidForSeconds": "60"}`, grace},
					{"null", `{"oldSecretValidForSeconds": null}`, grace},
					{"boolean", `{"oldSecretValidForSeconds": true}`, grace},
					{"unknown member", `{"oldSecretValidForSeconds": 60, "colour": "red"}`, "colour"},
					// rotationhttp repeats an unknown member's name only if it
					// is at most 23 bytes long, which this one is not.
					{"other spelling", `{"OldSecretValidForSeconds": 60}`, "body"},
					{"repeated member", `{"oldSecretValidForSeconds": 0, "oldSecretValidForSeconds": 60}`, grace},
					{"not an object", `[60]`, "body"},
					{"malformed", `{"oldSecretValidForSeconds": `, "body"},
					{"data after the object", `{} {}`, "body"},
				} {
					t.Run(c.name, func(t *testing.T) {
						is := is.New(t)
						before := h.only()
						w := h.serve(a.request(h, h.first, c.body))
						p := problem(t, w, http.StatusUnprocessableEntity)
						is.Equal(p["code"], "validation_error") // a validation problem
						errs, _ := p["errors"].([]any)
						is.Equal(len(errs), 1) // naming one member
						if len(errs) == 1 {
							is.Equal(errs[0].(map[string]any)["field"], c.field) // the member at fault
						}
						h.unchanged(before)
					})
				}
				h.regenerated(h.serve(a.request(h, h.first, `{"oldSecretValidForSeconds": 60}`)), start.Add(time.Minute)) // the first value was never replaced
			})
		}
	})
}

func TestRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		notFound := func(path string) map[string]any {
			return map[string]any{
				"type": "about:blank", "title": "Not Found", "status": float64(404), "instance": path,
				"code": "not_found", "resourceType": "route", "resourceId": path,
			}
		}
		for _, c := range []struct {
			name, method, path string
			status             int
			want               map[string]any
		}{
			{"unknown route", "GET", "/v1/integrator", 404, notFound("/v1/integrator")},
			{"root", "GET", "/", 404, notFound("/")},
			{"trailing slash", "POST", route + "/", 404, notFound(route + "/")},
			{"another version", "POST", "/v2/integrator/regenerate-secret", 404, notFound("/v2/integrator/regenerate-secret")},
			{"GET the route", "GET", route, 405, map[string]any{
				"type": "about:blank", "title": "Method Not Allowed", "status": float64(405), "instance": route,
				"code": "method_not_allowed",
			}},
			{"unclean path", "POST", "//v1//integrator//regenerate-secret", 404, notFound("//v1//integrator//regenerate-secret")},
			{"pasted key", "POST", "//v1//integrator//" + h.first, 404, notFound("//v1//integrator//REDACTED")},
			{"pasted key, clean", "GET", "/v1/integrator/" + h.first, 404, notFound("/v1/integrator/REDACTED")},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				before := h.only()
				r := httptest.NewRequest(c.method, c.path, nil)
				r.Header.Set("Authorization", "Bearer "+h.first) // routes answer before any authentication
				w := h.serve(r)
				if diff := cmp.Diff(c.want, problem(t, w, c.status)); diff != "" {
					t.Errorf("problem (-want +got):\n%s", diff)
				}
				is.Equal(w.Header().Get("Location"), "") // never a redirect
				if c.status == http.StatusMethodNotAllowed {
					is.Equal(w.Header().Get("Allow"), "POST") // the route takes POST
				}
				secretstest.NoLeak(t, fmt.Sprint(w.Header())+"\n"+w.Body.String(), h.first) // a pasted key is not echoed
				h.unchanged(before)
			})
		}
	})
}

func TestSecretNotFound(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		ctx := t.Context()
		// This replica has the integrator's keyset cached, and has not
		// heard that another replica deleted the integrator.
		if _, err := h.env.Rotator.VerifyingKeys(ctx, h.owner); err != nil {
			t.Fatal(err)
		}
		other, _ := h.service(h.db.Open(t), h.ring, service.EnvOptions{})
		if err := other.Rotator.DeleteOwner(ctx, h.owner); err != nil {
			t.Fatal(err)
		}

		w := h.serve(h.signed(h.first, ""))
		want := map[string]any{
			"type": "about:blank", "title": "Not Found", "status": float64(404), "instance": route,
			"code": "api_token_not_found", "resourceType": "secret", "resourceId": h.id,
		}
		if diff := cmp.Diff(want, problem(t, w, http.StatusNotFound)); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff) // the integrator's secret is gone: 404, naming it
		}
		list, err := h.env.Rotator.List(ctx, h.owner)
		is := is.New(t)
		is.NoErr(err)          // the integrator can still be listed
		is.Equal(len(list), 0) // and nothing was made in its place
	})
}

func TestInternalError(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		is := is.New(t)
		before := h.only()
		// A replica started with another key-encryption key cannot open
		// the sealed secret to verify a signature: the service's fault.
		_, wrongKEK := h.service(h.db.Open(t), secretstest.Keyring(t), service.EnvOptions{})
		w := httptest.NewRecorder()
		wrongKEK.ServeHTTP(w, h.signed(h.first, ""))

		var raw map[string]any
		is.NoErr(json.Unmarshal(w.Body.Bytes(), &raw)) // a problem
		_, hasDetail := raw["detail"]
		is.True(!hasDetail) // a 500 says nothing more
		want := map[string]any{
			"type": "about:blank", "title": "Internal Server Error", "status": float64(500), "instance": route,
			"code": "internal_error",
		}
		if diff := cmp.Diff(want, problem(t, w, http.StatusInternalServerError)); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff)
		}
		is.True(strings.Contains(h.logs.String(), "level=ERROR")) // the cause is logged
		h.unchanged(before)
	})
}

// TestConcurrentRegenerations sends n requests that regenerate with the
// same value at once, each to a replica of its own, all over one store,
// and holds their saves until every one has read the secret: one wins,
// and the others, which find the value replaced when they try again,
// regenerate nothing. (Within one replica such requests take turns, and
// the same one wins.)
func TestConcurrentRegenerations(t *testing.T) {
	const n = 5
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		for _, a := range auths {
			t.Run(a.name, func(t *testing.T) {
				g := &gate{}
				h := newHarness(t, db, func(st store.Store) store.Store { g.Store = st; return g })
				is := is.New(t)
				// A guard against a deadlock, should fewer than n requests
				// ever reach the store: the test then fails instead of hanging.
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				requests := make([]*http.Request, n)
				for i := range requests {
					requests[i] = a.request(h, h.first, "").WithContext(ctx)
				}

				replicas := make([]http.Handler, n)
				for i := range replicas {
					_, replicas[i] = h.service(g, h.ring, service.EnvOptions{})
				}
				g.arm(n) // every request reads the secret before any writes
				answers := make([]*httptest.ResponseRecorder, n)
				var wg sync.WaitGroup
				for i, r := range requests {
					wg.Go(func() { answers[i] = h.serveBy(replicas[i], r) })
				}
				wg.Wait()

				var codes []int
				for _, w := range answers {
					codes = append(codes, w.Code)
					if w.Code == http.StatusPreconditionFailed {
						want := map[string]any{
							"type": "about:blank", "title": "Precondition Failed", "status": float64(412), "instance": route,
							"code": "secret_changed", "resourceType": "secret", "resourceId": h.id,
						}
						if diff := cmp.Diff(want, problem(t, w, http.StatusPreconditionFailed)); diff != "" {
							t.Errorf("problem (-want +got):\n%s", diff)
						}
					}
				}
				slices.Sort(codes)
				is.Equal(codes, []int{200, 412, 412, 412, 412}) // one wins; the others regenerate nothing
				h.mu.Lock()
				is.Equal(len(h.seen), 2) // the first value and the winner's: no other was handed out
				h.mu.Unlock()
				s := h.only()
				is.Equal(s.Current.Hint, h.secret[len(h.secret)-4:])              // the value handed out is current
				is.Equal(len(s.Previous), 0)                                      // and the first died at once
				_, fresh := h.service(h.db.Open(t), h.ring, service.EnvOptions{}) // a replica that has cached nothing
				h.regenerated(h.serveBy(fresh, a.request(h, h.secret, "")), time.Time{})
			})
		}
	})
}

// TestLetInBeforeAnotherRegeneration checks that a request let in with a
// value that was current then, which reaches the store only after another
// request has regenerated the secret, regenerates nothing: it would end
// the value the other request handed out. The other request comes to
// another replica: within one, the changes of an owner take turns, so the
// late request, which holds its turn while held, would go first.
func TestLetInBeforeAnotherRegeneration(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		for _, c := range []struct {
			auth
			letIn func(context.Context) bool
		}{
			{auths[0], func(ctx context.Context) bool { _, ok := hmacsign.FromContext(ctx); return ok }}, // once verified
			{auths[1], func(context.Context) bool { return true }},                                       // authenticating loads nothing
		} {
			t.Run(c.name, func(t *testing.T) {
				hold := &holdStore{letIn: c.letIn, held: make(chan struct{}), release: make(chan struct{})}
				h := newHarness(t, db, func(st store.Store) store.Store { hold.Store = st; return hold })
				is := is.New(t)
				if _, err := h.env.Rotator.VerifyingKeys(t.Context(), h.owner); err != nil {
					t.Fatal(err) // the keys at hand, as after any earlier request
				}

				late := c.request(h, h.first, "")
				late = late.WithContext(context.WithValue(late.Context(), heldKey{}, true))
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- h.serve(late) }()
				<-hold.held // let in, and not yet regenerating

				_, other := h.service(h.db.Open(t), h.ring, service.EnvOptions{})
				first := h.regenerated(h.serveBy(other, c.request(h, h.first, "")), time.Time{})
				close(hold.release)
				w := <-done
				is.Equal(w.Code, http.StatusPreconditionFailed) // the late request loses
				s := h.only()
				is.Equal(s.Current.Hint, first[len(first)-4:]) // and the value the other handed out is current
			})
		}
	})
}

// TestTimestampsAreRFC3339 checks the expiry's shape when the clock is
// not on a whole second.
func TestTimestampsAreRFC3339(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		h := newHarness(t, db, nil)
		is := is.New(t)
		h.clock.Set(start.Add(1500 * time.Millisecond))
		w := h.serve(h.signed(h.first, `{"oldSecretValidForSeconds": 90}`))
		var reply struct{ OldSecretExpiresAt string }
		is.NoErr(json.Unmarshal(w.Body.Bytes(), &reply)) // a reply
		at, err := time.Parse(time.RFC3339, reply.OldSecretExpiresAt)
		is.NoErr(err)                                                // the expiry is RFC 3339
		is.True(at.Equal(start.Add(91500 * time.Millisecond)))       // the exact end of the window
		is.True(strings.HasSuffix(reply.OldSecretExpiresAt, "Z"))    // in UTC
		is.Equal(reply.OldSecretExpiresAt, "2026-03-02T09:01:31.5Z") // as time.RFC3339Nano prints it
	})
}

// TestStaleReplica checks what the package doc says of replicas.
// Another replica has just regenerated the secret with no grace, and this
// one has not heard of it yet: its cached keyset is stale, so the
// replaced value still verifies here, and still authenticates as a bearer
// key. But the current value the request is let in with comes from that
// same keyset, so the store's compare-and-swap makes the request a 412:
// the stale replica never regenerates away the value the other handed
// out.
func TestStaleReplica(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		for _, via := range auths {
			t.Run(via.name, func(t *testing.T) {
				h := newHarness(t, db, nil)
				is := is.New(t)
				if _, err := h.env.Rotator.VerifyingKeys(t.Context(), h.owner); err != nil {
					t.Fatal(err) // the keyset cached, as after any earlier request
				}
				otherEnv, other := h.service(h.db.Open(t), h.ring, service.EnvOptions{})
				w := httptest.NewRecorder()
				other.ServeHTTP(w, h.signed(h.first, "")) // no grace: the first value dies at once
				is.Equal(w.Code, http.StatusOK)           // the other replica regenerates
				var reply struct{ Secret string }
				is.NoErr(json.Unmarshal(w.Body.Bytes(), &reply)) // and hands out a value
				h.seen = append(h.seen, reply.Secret)

				w = h.serve(via.request(h, h.first, ""))
				is.Equal(w.Code, http.StatusPreconditionFailed) // the stale replica lets the replaced value in, and regenerates nothing
				list, err := otherEnv.Rotator.List(t.Context(), h.owner)
				is.NoErr(err)
				is.Equal(list[0].Current.Hint, reply.Secret[len(reply.Secret)-4:]) // the other replica's value stays current
				list, err = h.env.Rotator.List(t.Context(), h.owner)
				is.NoErr(err)
				is.Equal(list[0].Current.Hint, reply.Secret[len(reply.Secret)-4:]) // and the stale replica, told so, lists it too
			})
		}
	})
}
