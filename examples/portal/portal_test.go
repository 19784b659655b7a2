package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
)

func TestSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		link := h.link("acme")
		w := h.serve(httptest.NewRequest(http.MethodGet, link, nil))
		is.Equal(w.Code, http.StatusSeeOther)
		is.Equal(w.Header().Get("Location"), "/")
		c := sessionOf(t, w)
		is.True(c.HttpOnly)
		is.Equal(c.SameSite, http.SameSiteStrictMode)
		is.True(!c.Secure) // served over plain HTTP
		is.Equal(c.Path, "/")
		b := &client{h: h, cookie: c}
		p := b.page()
		is.True(strings.Contains(p.html, "Signed in as <strong>acme</strong>"))

		// The link works once: a second visit gets no session.
		w = h.serve(httptest.NewRequest(http.MethodGet, link, nil))
		is.Equal(w.Code, http.StatusForbidden)
		is.Equal(len(w.Result().Cookies()), 0)
		is.True(strings.Contains(h.read(w).messages(), "sign-in link does not work"))
	})
}

func TestSignInLinkWorksOnceUnderRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		link := h.link("acme")
		codes := make(chan int, 8)
		var wg sync.WaitGroup
		for range cap(codes) {
			wg.Go(func() { codes <- h.serve(httptest.NewRequest(http.MethodGet, link, nil)).Code })
		}
		wg.Wait()
		close(codes)
		signedIn := 0
		for code := range codes {
			if code == http.StatusSeeOther {
				signedIn++
			} else if code != http.StatusForbidden {
				t.Errorf("a visit got %d, want 303 or 403", code)
			}
		}
		is.New(t).Equal(signedIn, 1)
	})
}

func TestSignInOverTLSSetsSecure(t *testing.T) {
	h := newHarness(t, backends[0].db)
	w := h.serve(httptest.NewRequest(http.MethodGet, "https://portal.example"+h.link("acme"), nil))
	is.New(t).True(sessionOf(t, w).Secure)
}

func TestSignInFromAnotherSite(t *testing.T) {
	// A link followed from a mail: the session starts, and the page goes
	// on to the tab by itself, since a redirect would lose the cookie.
	is := is.New(t)
	h := newHarness(t, backends[0].db)
	r := httptest.NewRequest(http.MethodGet, h.link("acme"), nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w := h.serve(r)
	is.Equal(w.Code, http.StatusOK)
	is.True(strings.Contains(w.Body.String(), `<meta http-equiv="refresh" content="0; url=/">`))
	b := &client{h: h, cookie: sessionOf(t, w)}
	is.True(strings.Contains(b.page().html, "Signed in as <strong>acme</strong>"))
}

func TestSignInRefuses(t *testing.T) {
	h := newHarness(t, backends[0].db)
	customer := h.signIn("acme")
	_, apiSecret := customer.create("production")

	expired := h.link("globex")
	h.clock.Advance(signInTTL)
	replaced := h.link("initech")
	current := h.link("initech")

	for _, tc := range []struct{ name, path string }{
		{"an expired link", expired},
		{"a link replaced by a newer one", replaced},
		{"a customer's API secret", "/login/" + apiSecret},
		{"a token that is not a key", "/login/not-a-key"},
		{"a well-formed key nobody issued", "/login/signin_portal_" + strings.Repeat("A", 49)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			w := h.serve(httptest.NewRequest(http.MethodGet, tc.path, nil))
			is.Equal(w.Code, http.StatusForbidden)
			is.Equal(len(w.Result().Cookies()), 0)
			p := h.read(w)
			is.True(strings.Contains(p.messages(), "sign-in link does not work"))
			is.True(strings.Contains(p.html, "data-signed-out"))
		})
	}
	// The customer's secret was refused as a link, and works as a key.
	_, err := h.env.Rotator.Authenticate(t.Context(), apiSecret, rotation.Request{})
	is.New(t).NoErr(err)
	w := h.serve(httptest.NewRequest(http.MethodGet, current, nil))
	is.New(t).Equal(w.Code, http.StatusSeeOther)
}

func TestSignedOut(t *testing.T) {
	h := newHarness(t, backends[0].db)
	acme := h.signIn("acme")
	id, _ := acme.create("production")

	strangers := map[string]*client{
		"no cookie":      {h: h},
		"unknown cookie": {h: h, cookie: &http.Cookie{Name: sessionCookie, Value: "guess"}},
	}
	for name, b := range strangers {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			b.csrf = acme.csrf // even with a token seen elsewhere
			for _, w := range []*httptest.ResponseRecorder{
				b.get("/"),
				b.get("/secrets/" + id + "/remove"),
				b.post("/secrets", url.Values{"name": {"x"}}),
				b.post("/secrets/"+id+"/remove", url.Values{"phrase": {"remove"}}),
				b.post("/test-webhook", nil),
			} {
				is.Equal(w.Code, http.StatusForbidden)
				p := h.read(w)
				is.True(strings.Contains(p.html, "data-signed-out"))
				is.True(!strings.Contains(p.html, id))
				is.True(!strings.Contains(p.html, "acme"))
			}
			is.Equal(len(acme.page().ids()), 1) // nothing changed
		})
	}
}

func TestSessionEnds(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, backends[0].db)
	b := h.signIn("acme")
	h.clock.Advance(sessionTTL - time.Second)
	b.page() // still signed in
	h.clock.Advance(time.Second)
	is.Equal(b.get("/").Code, http.StatusForbidden)

	b = h.signIn("acme")
	w := b.post("/logout", nil)
	is.Equal(w.Code, http.StatusSeeOther)
	is.True(sessionOf(t, w).MaxAge < 0) // the browser forgets the cookie
	is.Equal(b.get("/").Code, http.StatusForbidden)
}

func TestCustomersSeeTheirOwnOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		acme, globex := h.signIn("acme"), h.signIn("globex")
		id, _ := acme.create("production")
		is.Equal(len(globex.page().ids()), 0)
		is.Equal(globex.get("/secrets/"+id+"/remove").Code, http.StatusNotFound)
		globex.create("globex's")
		p := globex.submit("/secrets/"+id+"/remove", url.Values{"phrase": {"remove"}})
		is.True(strings.Contains(p.messages(), "does not exist"))
		globex.submit("/secrets/"+id+"/signing", nil)
		is.Equal(acme.page().ids(), []string{id})
		is.Equal(acme.page().signing(), id)
	})
}

func TestForgedRequestsAreRefused(t *testing.T) {
	h := newHarness(t, backends[0].db)
	acme, other := h.signIn("acme"), h.signIn("globex")
	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{"csrf": {""}}, nil},
		{"another session's token", url.Values{"csrf": {other.csrf}}, nil},
		{"a token of another length", url.Values{"csrf": {acme.csrf + "A"}}, nil},
		{"from another site", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"from another origin", nil, http.Header{"Origin": {"https://evil.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			form := url.Values{"name": {"forged"}, "csrf": {acme.csrf}}
			for k, v := range tc.form {
				form[k] = v
			}
			r := httptest.NewRequest(http.MethodPost, "http://portal.example/secrets", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				r.Header[k] = v
			}
			r.AddCookie(acme.cookie)
			w := h.serve(r)
			is.Equal(w.Code, http.StatusForbidden)
			is.True(strings.Contains(h.read(w).messages(), "nothing was changed"))
			is.Equal(len(acme.page().ids()), 0)
		})
	}
}

func TestValueIsShownOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		w := b.post("/secrets", url.Values{"name": {"production"}})
		is.Equal(w.Code, http.StatusSeeOther)
		loc, cookies := w.Header().Get("Location"), w.Header().Values("Set-Cookie")

		p := b.open(loc)
		value := p.value()
		is.True(regexp.MustCompile(`^sk_live_[0-9A-Za-z]{49}$`).MatchString(value))
		is.True(strings.Contains(p.html, "It will not be shown again"))
		is.True(strings.Contains(p.html, `data-copy="new-secret"`))
		id := p.ids()[0]
		is.True(strings.Contains(p.row(id), "…"+value[len(value)-4:]))
		is.True(strings.Contains(p.row(id), ">production<"))
		is.True(strings.Contains(p.row(id), "never")) // not used yet
		// In no URL and no cookie.
		is.True(!strings.Contains(loc, value))
		is.True(!strings.Contains(strings.Join(cookies, ";"), value))

		// A reload, or any page after, no longer has it.
		again := b.page()
		is.Equal(again.value(), "")
		is.True(!strings.Contains(again.html, value))
		is.True(!strings.Contains(b.get("/secrets/"+id+"/signing").Body.String(), value))

		// It is a working key, and its use shows as the last usage date.
		h.clock.Advance(time.Hour)
		_, err := h.env.Rotator.Authenticate(t.Context(), value, rotation.Request{})
		is.NoErr(err)
		is.True(strings.Contains(b.page().row(id), date(h.clock.Now())))
	})
}

func TestFirstSecretSignsWebhooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		first, _ := b.create("first")
		second, _ := b.create("second")
		p := b.page()
		is.Equal(p.signing(), first)
		// The secret that signs has neither button; the other has both.
		is.True(!strings.Contains(p.row(first), `data-action=`))
		is.True(strings.Contains(p.row(second), `href="/secrets/`+second+`/signing" data-action="signing"`))
		is.True(strings.Contains(p.row(second), `href="/secrets/`+second+`/remove" data-action="remove"`))
		is.True(strings.Contains(p.row(first), "Signs webhooks"))
	})
}

func TestUseWithWebhooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		first, _ := b.create("first")
		second, _ := b.create("second")

		// Asking shows Confirm and Cancel, and changes nothing.
		ask := b.open("/secrets/" + second + "/signing")
		is.True(strings.Contains(ask.html, `action="/secrets/`+second+`/signing"`))
		is.True(strings.Contains(ask.html, ">Confirm</button>"))
		is.True(strings.Contains(ask.html, `href="/">Cancel</a>`))
		is.Equal(b.page().signing(), first) // Cancel is the way back

		p := b.submit("/secrets/"+second+"/signing", nil)
		is.Equal(p.signing(), second)
		is.True(strings.Contains(p.messages(), "now signed with this secret"))
		is.True(strings.Contains(p.row(first), `data-action="remove"`))
		is.True(!strings.Contains(p.row(second), `data-action="remove"`))

		// Asking about the one that signs already, or one that is gone.
		w := b.get("/secrets/" + second + "/signing")
		is.Equal(w.Code, http.StatusConflict)
		is.True(strings.Contains(h.read(w).messages(), "signs your webhooks already"))
		is.Equal(b.get("/secrets/sec_gone/signing").Code, http.StatusNotFound)
		p = b.submit("/secrets/sec_gone/signing", nil)
		is.True(strings.Contains(p.messages(), "does not exist"))
		is.Equal(p.signing(), second)
	})
}

func TestLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		for _, name := range []string{"one", "two"} {
			b.create(name)
			is.True(!strings.Contains(b.page().html, "data-create disabled"))
		}
		b.create("three")
		p := b.page()
		is.True(strings.Contains(p.html, `<button type="submit" data-create disabled`))
		is.True(strings.Contains(p.html, `<input id="name" name="name" maxlength="200" autocomplete="off" disabled>`))

		// A form sent anyway is refused, with the reason on the page.
		p = b.submit("/secrets", url.Values{"name": {"four"}})
		is.Equal(p.value(), "")
		is.Equal(len(p.ids()), 3)
		is.True(strings.Contains(p.messages(), "You have 3 API secrets, the most you may have"))
	})
}

func TestRemove(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		first, _ := b.create("first")
		second, value := b.create("second")

		ask := b.open("/secrets/" + second + "/remove")
		phrase := ask.field(phraseRe)
		is.Equal(phrase, "remove "+value[len(value)-4:])
		is.True(strings.Contains(ask.html, `<label for="phrase">`))

		// A wrong phrase removes nothing, and asks again.
		for _, wrong := range []string{"", "remove", strings.ToUpper(phrase), phrase + "x"} {
			w := b.post("/secrets/"+second+"/remove", url.Values{"phrase": {wrong}})
			is.Equal(w.Code, http.StatusSeeOther)
			is.Equal(w.Header().Get("Location"), "/secrets/"+second+"/remove")
			p := b.open(w.Header().Get("Location"))
			is.True(strings.Contains(p.messages(), "The phrase does not match, so nothing was removed"))
			is.True(strings.Contains(p.html, `action="/secrets/`+second+`/remove"`)) // asked again
			is.Equal(len(p.ids()), 2)
		}

		p := b.submit("/secrets/"+second+"/remove", url.Values{"phrase": {"  " + phrase + " "}})
		is.Equal(p.ids(), []string{first})
		is.True(strings.Contains(p.messages(), "was removed"))
		_, err := h.env.Rotator.Authenticate(t.Context(), value, rotation.Request{})
		is.True(err != nil) // the removed secret works no more

		// Removing it again says it is gone.
		p = b.submit("/secrets/"+second+"/remove", url.Values{"phrase": {phrase}})
		is.True(strings.Contains(p.messages(), "does not exist"))
	})
}

func TestDesignatedCannotBeRemoved(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		first, value := b.create("first")
		b.create("second")

		w := b.get("/secrets/" + first + "/remove")
		is.Equal(w.Code, http.StatusConflict)
		is.True(strings.Contains(h.read(w).messages(), "signs your webhooks, so it cannot be removed"))

		// A forged removal, with the phrase a removal would need.
		p := b.submit("/secrets/"+first+"/remove", url.Values{"phrase": {"remove " + value[len(value)-4:]}})
		is.True(strings.Contains(p.messages(), "This secret signs your webhooks, so it cannot be removed. Choose another with “Use with webhooks” first."))
		is.Equal(len(p.ids()), 2)
		is.Equal(p.signing(), first)
	})
}

func TestTestWebhook(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		is := is.New(t)
		b := h.signIn("acme")
		p := b.submit("/test-webhook", nil)
		is.True(strings.Contains(p.messages(), "Create an API secret first"))

		_, value := b.create("webhooks")
		p = b.submit("/test-webhook", nil)
		d := delivered(t, p)
		is.Equal(d["content-type"], "application/json")
		is.Equal(d["webhook-timestamp"], "1772442000") // start, in Unix seconds
		is.Equal(d["webhook-signature"], sign(value, d))
		is.True(strings.Contains(d["body"], `"type":"portal.test"`))
		is.True(strings.Contains(p.html, "It carries one signature"))

		// In a grace window it carries a signature from each value.
		id := p.signing()
		res, err := h.env.Rotator.Regenerate(t.Context(), "acme", id, 10*time.Minute)
		is.NoErr(err)
		h.seen = append(h.seen, res.Value.Reveal())
		p = b.submit("/test-webhook", nil)
		d = delivered(t, p)
		is.Equal(d["webhook-signature"], sign(res.Value.Reveal(), d)+" "+sign(value, d))
		is.True(strings.Contains(p.html, "It carries 2 signatures"))
		is.True(strings.Contains(p.row(id), "its old value …"+value[len(value)-4:]+" works until"))

		h.clock.Advance(10 * time.Minute)
		d = delivered(t, b.submit("/test-webhook", nil))
		is.Equal(d["webhook-signature"], sign(res.Value.Reveal(), d))
	})
}

// delivered returns the headers of the test delivery p shows, and its
// body as "body".
func delivered(t *testing.T, p page) map[string]string {
	t.Helper()
	d := map[string]string{"body": html.UnescapeString(p.field(bodyRe))}
	for _, m := range headerRe.FindAllStringSubmatch(p.html, -1) {
		d[m[1]] = html.UnescapeString(m[2])
	}
	if d["webhook-id"] == "" || d["body"] == "" {
		t.Fatalf("the page shows no test delivery; it says: %s", p.messages())
	}
	return d
}

// sign returns the Standard Webhooks signature entry that a receiver
// knowing secret computes for delivery d.
func sign(secret string, d map[string]string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(d["webhook-id"] + "." + d["webhook-timestamp"] + "." + d["body"]))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestBadNames(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, backends[0].db)
	b := h.signIn("acme")
	for _, name := range []string{strings.Repeat("n", rotation.MaxNameLen+1), "bad\x00name", "\xff"} {
		p := b.submit("/secrets", url.Values{"name": {name}})
		is.True(strings.HasPrefix(p.messages(), "The name must "))
		is.Equal(p.value(), "")
		is.Equal(len(p.ids()), 0)
	}
	// A name of the longest length, with spaces around, is kept trimmed.
	long := strings.Repeat("é", rotation.MaxNameLen/2)
	b.create(" " + long + " ")
	is.True(strings.Contains(b.page().html, ">"+long+"<"))
}

func TestEveryAnswerIsAPage(t *testing.T) {
	h := newHarness(t, backends[0].db)
	b := h.signIn("acme")
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/nowhere", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodDelete, "/secrets", http.StatusNotFound},
		{http.MethodGet, "/secrets", http.StatusNotFound},
		{http.MethodGet, "/secrets/x/remove/more", http.StatusNotFound},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			is := is.New(t)
			r := httptest.NewRequest(tc.method, tc.path, nil)
			r.AddCookie(b.cookie)
			w := h.serve(r)
			is.Equal(w.Code, tc.code)
			is.True(strings.Contains(h.read(w).messages(), "There is no such page"))
		})
	}
}

func TestPageHeaders(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, backends[0].db)
	w := h.signIn("acme").get("/")
	csp := w.Header().Get("Content-Security-Policy")
	is.True(strings.Contains(csp, "script-src 'self'"))
	is.True(strings.Contains(csp, "frame-ancestors 'none'"))
	is.Equal(w.Header().Get("Referrer-Policy"), "no-referrer")

	// The page's files come from the portal itself.
	for path, ctype := range map[string]string{"/static/portal.css": "text/css; charset=utf-8", "/static/portal.js": "text/javascript; charset=utf-8"} {
		w := h.serve(httptest.NewRequest(http.MethodGet, path, nil))
		is.Equal(w.Code, http.StatusOK)
		is.Equal(w.Header().Get("Content-Type"), ctype)
	}
	is.True(!regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).MatchString(w.Body.String())) // nothing from elsewhere
}

func TestCreateOwner(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, backends[0].db)
	for _, bad := range []string{"", "a/b", "-x", strings.Repeat("a", 65)} {
		_, err := createOwner(t.Context(), h.env, bad)
		is.True(err != nil)
	}
	// The link's key lives beside the customer's, never among them.
	h.link("acme")
	list, err := h.env.Rotator.List(t.Context(), "acme")
	is.NoErr(err)
	is.Equal(len(list), 0)
	links, err := h.env.Rotator.List(t.Context(), "acme"+signInSuffix)
	is.NoErr(err)
	is.Equal(len(links), 1)
	is.Equal(links[0].ExpiresAt, start.Add(signInTTL))
}

func TestRun(t *testing.T) {
	// The program as a user runs it: -create-owner prints a link, and the
	// server started after takes it.
	is := is.New(t)
	dir := t.TempDir()
	env := func(k string) string {
		if k == "ROTOR_KEK" {
			return "c2l4dGVlbiBieXRlcyBhbmQgc2l4dGVlbiBtb3JlISE="
		}
		return ""
	}
	var out, errs strings.Builder
	err := service.Run(t.Context(), app, []string{"-data", dir, "-create-owner", "acme"}, env, &out, &errs)
	is.NoErr(err)
	link := strings.TrimPrefix(strings.Split(strings.TrimSpace(out.String()), "\n")[1], "login=")
	is.True(strings.HasPrefix(link, "/login/"))

	ctx, stop := context.WithCancel(t.Context())
	lines := &lineWriter{ch: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, app, []string{"-data", dir, "-addr", "127.0.0.1:0"}, env, lines, &errs)
	}()
	addr := strings.TrimPrefix(<-lines.ch, "listening on ")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(addr + link)
	is.NoErr(err)
	resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusSeeOther)
	is.Equal(len(resp.Cookies()), 1)
	stop()
	is.NoErr(<-done)
	is.True(!strings.Contains(errs.String(), strings.TrimPrefix(link, "/login/")))
}

// lineWriter sends each line written to it, without its newline.
type lineWriter struct{ ch chan string }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.ch <- strings.TrimSpace(string(p))
	return len(p), nil
}
