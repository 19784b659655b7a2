package main

import (
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// start is where every test's clock begins.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// backends are the databases every test runs on. PostgreSQL needs
// ROTOR_POSTGRES_DSN; without it its tests skip, except under CI=true.
var backends = []struct {
	name string
	db   func(testing.TB) *sqlstoretest.DB
}{
	{"SQLite", sqlstoretest.SQLite},
	{"PostgreSQL", sqlstoretest.Postgres},
}

// eachBackend runs test once per backend, as a subtest named after it.
func eachBackend(t *testing.T, test func(t *testing.T, h *harness)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, newHarness(t, b.db)) })
	}
}

// harness is the portal over a database of its own, on a stepped clock,
// as main builds it. When the test ends it checks that no secret value a
// page showed, and no sign-in link, reached the logs.
type harness struct {
	t     *testing.T
	clock *rotationtest.Clock
	env   service.Env
	h     http.Handler
	logs  *secretstest.Logs
	seen  []string // every secret value and sign-in token handed out
}

func newHarness(t *testing.T, db func(testing.TB) *sqlstoretest.DB) *harness {
	h := &harness{t: t, clock: rotationtest.NewClock(start), logs: &secretstest.Logs{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if h.env, err = app.NewEnv(db(t).Open(t), &service.EnvOptions{Now: h.clock.Now, Log: log, Keyring: secretstest.Keyring(t)}); err != nil {
		t.Fatal(err)
	}
	if h.h, err = app.Handler(h.env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secretstest.NoLeak(t, h.logs.String(), h.seen...) })
	return h
}

// link returns a new sign-in path for owner, as -create-owner prints it.
func (h *harness) link(owner string) string {
	h.t.Helper()
	lines, err := createOwner(h.t.Context(), h.env, owner)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != "owner="+owner || !strings.HasPrefix(lines[1], "login=/login/signin_portal_") {
		h.t.Fatalf("createOwner printed %d lines, want owner=%s and login=/login/signin_portal_…", len(lines), owner)
	}
	path := strings.TrimPrefix(lines[1], "login=")
	h.seen = append(h.seen, strings.TrimPrefix(path, "/login/"))
	return path
}

// serve answers r.
func (h *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}

// client is one signed-in browser: its session cookie, and the token
// its forms carry.
type client struct {
	h      *harness
	cookie *http.Cookie // nil: signed out
	csrf   string
}

// signIn returns a browser signed in as owner through a new link.
func (h *harness) signIn(owner string) *client {
	h.t.Helper()
	w := h.serve(httptest.NewRequest(http.MethodGet, h.link(owner), nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		h.t.Fatalf("sign-in answered %d to %q, want 303 to /", w.Code, w.Header().Get("Location"))
	}
	b := &client{h: h, cookie: sessionOf(h.t, w)}
	b.csrf = b.page().field(csrfField)
	return b
}

// sessionOf returns the session cookie w sets, failing the test if none.
func sessionOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatal("no session cookie was set")
	return nil
}

// get returns the answer to GET path, with the browser's cookie.
func (b *client) get(path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	return b.h.serve(r)
}

// post submits form to path as the page's forms do: with the browser's
// cookie and, unless form has one, its token.
func (b *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	return b.h.serve(r)
}

// submit posts form to path, checks that the portal sends the browser on
// with 303, and returns the page it is sent to, as a browser shows it.
func (b *client) submit(path string, form url.Values) page {
	b.h.t.Helper()
	w := b.post(path, form)
	if w.Code != http.StatusSeeOther {
		b.h.t.Fatalf("POST %s answered %d, want 303; page:\n%s", path, w.Code, w.Body)
	}
	return b.open(w.Header().Get("Location"))
}

// open returns the page at path, which must answer 200.
func (b *client) open(path string) page {
	b.h.t.Helper()
	path, _, _ = strings.Cut(path, "#") // a browser keeps the fragment
	w := b.get(path)
	if w.Code != http.StatusOK {
		b.h.t.Fatalf("GET %s answered %d, want 200; page:\n%s", path, w.Code, w.Body)
	}
	return b.h.read(w)
}

// page returns the tab.
func (b *client) page() page { return b.open("/") }

// create creates a secret named name through the page, and returns its id
// and the value the page showed.
func (b *client) create(name string) (id, value string) {
	b.h.t.Helper()
	p := b.submit("/secrets", url.Values{"name": {name}})
	value = p.value()
	if value == "" {
		b.h.t.Fatalf("no value shown after creating %q; page says: %s", name, p.messages())
	}
	ids := p.ids()
	return ids[len(ids)-1], value
}

// page is an HTML page the portal served, read as a test needs it.
type page struct {
	html string
	w    *httptest.ResponseRecorder
}

// read returns the page w holds, after checking what every page is: HTML
// that no cache keeps. A page that shows a value has it recorded as seen.
func (h *harness) read(w *httptest.ResponseRecorder) page {
	h.t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		h.t.Fatalf("a page has Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		h.t.Fatalf("a page has Cache-Control %q, want no-store", cc)
	}
	p := page{html: w.Body.String(), w: w}
	if v := p.value(); v != "" {
		h.seen = append(h.seen, v)
	}
	return p
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	rowID     = regexp.MustCompile(`<tr data-secret-id="([^"]+)"`)
	signingID = regexp.MustCompile(`<tr data-secret-id="([^"]+)" data-signing>`)
	valueText = regexp.MustCompile(`<code id="new-secret" data-secret-value>([^<]*)</code>`)
	phraseRe  = regexp.MustCompile(`<strong data-phrase>([^<]*)</strong>`)
	messageRe = regexp.MustCompile(`<p class="message (?:notice|problem)" role="(?:status|alert)">([^<]*)</p>`)
	headerRe  = regexp.MustCompile(`<span data-header="([^"]+)">[^:]+: ([^<]*)</span>`)
	bodyRe    = regexp.MustCompile(`<span data-body>([^<]*)</span>`)
)

// field returns the first submatch of re in the page, or "".
func (p page) field(re *regexp.Regexp) string {
	if m := re.FindStringSubmatch(p.html); m != nil {
		return m[1]
	}
	return ""
}

// all returns the first submatch of every match of re.
func (p page) all(re *regexp.Regexp) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(p.html, -1) {
		out = append(out, m[1])
	}
	return out
}

// ids returns the ids of the secrets listed, in order.
func (p page) ids() []string { return p.all(rowID) }

// signing returns the id of the secret marked as signing webhooks.
func (p page) signing() string { return p.field(signingID) }

// value returns the secret value the page shows, or "".
func (p page) value() string { return p.field(valueText) }

// messages returns the notices and problems the page shows, joined.
func (p page) messages() string {
	return html.UnescapeString(strings.Join(p.all(messageRe), " | "))
}

// row returns the HTML of the row of secret id, or "".
func (p page) row(id string) string {
	i := strings.Index(p.html, `<tr data-secret-id="`+id+`"`)
	if i < 0 {
		return ""
	}
	end := strings.Index(p.html[i:], "</tr>")
	return p.html[i : i+end]
}
