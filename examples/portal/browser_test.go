package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

const (
	// browserTimeout bounds the whole of TestBrowser: a browser that hangs
	// fails the test instead of running into go test's own -timeout.
	browserTimeout = 60 * time.Second
	// browserStepTimeout bounds one step, such as a click and the page it
	// leads to, so that a step that never happens fails with its name.
	browserStepTimeout = 15 * time.Second
)

// browserValue is the shape of a new API secret's value: sk_live_, a body
// of 43 base62 characters and a checksum of 6.
var browserValue = regexp.MustCompile(`^sk_live_[0-9A-Za-z]{49}$`)

// TestBrowser drives the portal in headless Chromium as a customer would:
// signing in, creating secrets with the keyboard and the mouse, copying a
// value, moving webhook signing, removing a secret, looking at a test
// webhook, and checking that the page can be used with a keyboard, has
// names for its controls and fits a narrow screen. The steps build on each
// other, so the first that fails ends the test, and -run cannot pick one
// but the first.
func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()
	p := browserStartPortal(t)
	tab := browserStart(t, ctx)

	// ids are the secrets' ids in the order they were created, and
	// values their values; values[1] signs webhooks from step 5 on.
	var ids, values []string

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"SignIn", func(t *testing.T) { browserSignIn(t, tab, p) }},
		{"CreateWithKeyboard", func(t *testing.T) {
			id, value := browserCreateWithKeyboard(t, tab, p)
			ids, values = append(ids, id), append(values, value)
		}},
		{"ReloadHidesValue", func(t *testing.T) { browserReloadHidesValue(t, tab, values[0]) }},
		{"CreateUpToTheLimit", func(t *testing.T) {
			for _, name := range []string{"staging", "spare"} {
				id, value := browserCreateWithMouse(t, tab, p, name)
				ids, values = append(ids, id), append(values, value)
			}
			browserForgeCreate(t, tab)
		}},
		{"UseWithWebhooks", func(t *testing.T) { browserUseWithWebhooks(t, tab, ids) }},
		{"Remove", func(t *testing.T) { browserRemove(t, tab, ids[0]) }},
		{"SigningRowHasNoRemove", func(t *testing.T) { browserSigningRowHasNoRemove(t, tab, ids[1]) }},
		{"TestWebhook", func(t *testing.T) { browserTestWebhook(t, tab, values[1]) }},
		{"Accessibility", func(t *testing.T) {
			// "/" and not a reload of "/#test-webhook", whose fragment
			// would start Tab at the test webhook's section.
			browserOpen(t, tab, "/", p.url+"/")
			browserNamedControls(t, tab, "the tab")
			browserTabThrough(t, tab)
		}},
		{"Screens", func(t *testing.T) { browserScreens(t, tab) }},
	}
	for _, s := range steps {
		ran := false
		if !t.Run(s.name, func(t *testing.T) { ran = true; s.run(t) }) {
			return
		}
		if !ran { // -run left it out, and the later steps need it
			t.Skipf("the steps after %s need it to run", s.name)
		}
	}
}

// browserPortal is the portal under test, served over HTTP to the browser.
type browserPortal struct {
	url   string // the server's root, such as http://127.0.0.1:1234
	login string // the path of acme's one-time sign-in link
	// shown are the secret values the page showed, and the sign-in
	// token: none may reach the logs, which the test checks at its end.
	shown []string
}

// browserStartPortal builds the portal as main does, on a fixed clock and
// a fresh SQLite database, serves it, and creates the customer "acme". It
// checks, once the server has stopped, that no secret in p.shown reached
// the logs.
func browserStartPortal(t *testing.T) *browserPortal {
	t.Helper()
	clock := rotationtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.SQLite(t).Open(t)
	logs := &secretstest.Logs{}
	// Debug, so that whatever the portal and rotor log at any level is
	// checked for leaks.
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env, err := app.NewEnv(st, &service.EnvOptions{Now: clock.Now, Log: log, Keyring: secretstest.Keyring(t)})
	if err != nil {
		t.Fatalf("making the portal's Rotator: %v", err)
	}
	h, err := app.Handler(env)
	if err != nil {
		t.Fatalf("making the portal's routes: %v", err)
	}
	p := &browserPortal{}
	// Registered first, so it runs last: after the server, and every
	// handler that could log, has stopped.
	t.Cleanup(func() { secretstest.NoLeak(t, logs.String(), p.shown...) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	lines, err := createOwner(t.Context(), env, "acme")
	if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[1], "login=/login/") {
		t.Fatalf("createOwner gave %d lines and %v, want owner= and login=/login/…", len(lines), err)
	}
	p.url, p.login = srv.URL, strings.TrimPrefix(lines[1], "login=")
	p.shown = append(p.shown, strings.TrimPrefix(p.login, "/login/"))
	return p
}

// browserStart starts headless Chromium, with a fresh profile, for as
// long as ctx and the test last, and returns the context of its first
// tab. Without Chromium it skips the test, but fails it on CI, where a
// skip would hide that the browser tests did not run.
func browserStart(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	path := cmp.Or(os.Getenv("ROTOR_CHROMIUM"), "/usr/bin/chromium")
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s (set ROTOR_CHROMIUM): %v", path, err)
		}
		t.Skipf("no Chromium at %s (set ROTOR_CHROMIUM): %v", path, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners often have no user namespaces
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab) // runs before cancelAlloc, and before the profile is removed
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return tab
}

// browserDo runs steps in the tab of ctx, failing t with what if they fail
// or take longer than a step may.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browserRun(t, ctx, what, chromedp.Steps(steps...))
}

// browserRun runs a in the tab of ctx and returns its value, failing t
// with what if it fails or takes longer than a step may.
func browserRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// browserEval returns the value of the JavaScript expression js in the
// page of ctx.
func browserEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return browserRun(t, ctx, "evaluating "+js, chromedp.Evaluate[T](js))
}

// browserNavigates runs steps, which must take the tab of ctx to another
// page (a link, a form, a script), waits until that page has loaded, and
// returns its HTTP status. A redirect counts as the page it leads to.
func browserNavigates(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	// RunResponse waits for a navigation for ever: the step timeout
	// turns one that never comes into a failure that says which.
	ctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s, then waiting for the next page: %v", what, err)
	}
	return resp.Status
}

// browserOpen opens url in the tab of ctx and returns the HTTP status of
// the page it leads to; what names the page for a failure, since url may
// hold a sign-in token.
func browserOpen(t *testing.T, ctx context.Context, what, url string) int64 {
	t.Helper()
	return browserRun(t, ctx, "opening "+what, chromedp.NavigateResponse(url)).Status
}

// browserReload reloads the page of ctx.
func browserReload(t *testing.T, ctx context.Context) {
	t.Helper()
	browserDo(t, ctx, "reloading", chromedp.Reload())
}

// browserPath returns the path of the page of ctx, with the token of a
// sign-in link cut, so that a failure can quote it.
func browserPath(t *testing.T, ctx context.Context) string {
	t.Helper()
	path := browserEval[string](t, ctx, `location.pathname`)
	if strings.HasPrefix(path, "/login/") {
		return "/login/…"
	}
	return path
}

// browserText returns the text content of the first element that css
// selects, waiting for it to be there.
func browserText(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return strings.TrimSpace(browserRun(t, ctx, "reading "+css, chromedp.TextContent(chromedp.CSS(css))))
}

// browserCount returns how many elements css selects now, without waiting.
func browserCount(t *testing.T, ctx context.Context, css string) int {
	t.Helper()
	return browserEval[int](t, ctx, `document.querySelectorAll(`+browserQuote(css)+`).length`)
}

// browserQuote returns s as a JavaScript string literal.
func browserQuote(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// browserRow is what a row of the table of secrets shows.
type browserRow struct {
	ID      string `json:"id"`
	Signing bool   `json:"signing"` // the row has data-signing
	Hint    string `json:"hint"`    // the text of its code[data-hint]
	Use     bool   `json:"use"`     // it has a "Use with webhooks" link
	Remove  bool   `json:"remove"`  // it has a "Remove" link
}

// browserRows returns the rows of the table of secrets, in page order.
func browserRows(t *testing.T, ctx context.Context) []browserRow {
	t.Helper()
	return browserEval[[]browserRow](t, ctx, `[...document.querySelectorAll("tr[data-secret-id]")].map(tr => ({
		id: tr.dataset.secretId,
		signing: tr.hasAttribute("data-signing"),
		hint: tr.querySelector("code[data-hint]")?.textContent ?? "",
		use: !!tr.querySelector('a[data-action="signing"]'),
		remove: !!tr.querySelector('a[data-action="remove"]'),
	}))`)
}

// browserRowOf returns the row of the secret id, failing t if there is
// none.
func browserRowOf(t *testing.T, rows []browserRow, id string) browserRow {
	t.Helper()
	for _, r := range rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no row for the secret %s among %d", id, len(rows))
	return browserRow{}
}

// browserIDs returns the ids of rows.
func browserIDs(rows []browserRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// browserWantRows fails t unless the page of ctx lists n secrets, and
// returns them.
func browserWantRows(t *testing.T, ctx context.Context, n int, when string) []browserRow {
	t.Helper()
	rows := browserRows(t, ctx)
	if len(rows) != n {
		t.Fatalf("%s, the page lists %d secrets, want %d", when, len(rows), n)
	}
	return rows
}

// browserNoValue fails t if the page of ctx shows a secret's value.
func browserNoValue(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	if n := browserCount(t, ctx, "code[data-secret-value]"); n != 0 {
		t.Fatalf("%s, the page shows a value (%d code[data-secret-value])", when, n)
	}
}

// browserSignIn follows acme's sign-in link, and checks that a second
// visit with it, from a browser profile of its own, is not signed in.
func browserSignIn(t *testing.T, tab context.Context, p *browserPortal) {
	if status := browserOpen(t, tab, "the sign-in link", p.url+p.login); status != 200 {
		t.Fatalf("the sign-in link led to a page with status %d, want 200", status)
	}
	if path := browserPath(t, tab); path != "/" {
		t.Fatalf("the sign-in link led to %s, want /", path)
	}
	if h1 := browserText(t, tab, "h1"); h1 != "API secrets" {
		t.Errorf("the page after signing in is headed %q, want the tab, API secrets", h1)
	}
	if current := browserText(t, tab, `nav.tabs a[aria-current="page"]`); current != "API secrets" {
		t.Errorf("the current tab is %q, want API secrets", current)
	}
	browserWantRows(t, tab, 0, "after signing in")

	// A new browser context has no cookies: it is another browser as far
	// as the portal can tell.
	other, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancel()
	// The first Run of a context opens its tab for as long as the
	// context of that Run lasts: not one bounded by a step.
	if err := chromedp.Do(other); err != nil {
		t.Fatalf("opening a tab in a new browser context: %v", err)
	}
	status := browserOpen(t, other, "the used sign-in link in another browser", p.url+p.login)
	if status != 403 {
		t.Errorf("the used sign-in link gave status %d, want 403", status)
	}
	if n := browserCount(t, other, "[data-signed-out]"); n != 1 {
		t.Errorf("the used sign-in link gave a page with %d [data-signed-out], want 1", n)
	}
	if n := browserCount(t, other, "nav.tabs, table.secrets"); n != 0 {
		t.Errorf("the used sign-in link gave a page with the tab on it")
	}
	if !strings.Contains(browserText(t, other, "p.problem"), "does not work") {
		t.Errorf("the used sign-in link gave no problem saying that it does not work")
	}
	browserOpen(t, other, "/ in the other browser", p.url+"/")
	if n := browserCount(t, other, "[data-signed-out]"); n != 1 {
		t.Errorf("the other browser sees / signed in")
	}
}

// browserNewValue returns the value that the page of ctx shows for a
// secret just created, checking its shape, and remembers it for the leak
// check.
func browserNewValue(t *testing.T, ctx context.Context, p *browserPortal) string {
	t.Helper()
	value := browserText(t, ctx, "code[data-secret-value]")
	if value != "" {
		p.shown = append(p.shown, value)
	}
	if !browserValue.MatchString(value) {
		t.Fatalf("the new secret's value (%d characters) does not read sk_live_ and 49 base62 characters", len(value))
	}
	if n := browserCount(t, ctx, "code[data-secret-value]"); n != 1 {
		t.Fatalf("the page shows %d values, want the new one", n)
	}
	page := browserEval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(page, "will not be shown again") {
		t.Errorf("the page that shows the value does not say that it will not be shown again")
	}
	return value
}

// browserNewRow returns the one row of rows that before did not have,
// checking that its hint is the end of value.
func browserNewRow(t *testing.T, before, rows []browserRow, value string) browserRow {
	t.Helper()
	if len(rows) != len(before)+1 {
		t.Fatalf("after a creation the page lists %d secrets, want %d", len(rows), len(before)+1)
	}
	known := make(map[string]bool)
	for _, r := range before {
		known[r.ID] = true
	}
	for _, r := range rows {
		if known[r.ID] {
			continue
		}
		if r.Hint != "…"+value[len(value)-4:] {
			t.Errorf("the new row's hint is not … and the last 4 characters of the value")
		}
		return r
	}
	t.Fatalf("after a creation no row is new: %v", browserIDs(rows))
	return browserRow{}
}

// browserCreateWithKeyboard creates the first secret, "production", with
// the keyboard alone, checks what the page shows of it, and copies its
// value with the Copy button. It returns the secret's id and value.
func browserCreateWithKeyboard(t *testing.T, tab context.Context, p *browserPortal) (id, value string) {
	browserDo(t, tab, "focusing the name field", chromedp.Focus(chromedp.ID("name")))
	if focused := browserEval[string](t, tab, `document.activeElement.id`); focused != "name" {
		t.Fatalf("focusing #name focused %q", focused)
	}
	browserDo(t, tab, "typing the name", chromedp.KeyEvent("production"))
	browserNavigates(t, tab, "pressing Enter in the name field", chromedp.KeyEvent(kb.Enter))

	value = browserNewValue(t, tab, p)
	if h2 := browserText(t, tab, "#created-title"); h2 != "Your new API secret: production" {
		t.Errorf("the new secret is headed %q, want it named production", h2)
	}
	row := browserNewRow(t, nil, browserRows(t, tab), value)
	if !row.Signing {
		t.Errorf("the first secret does not sign webhooks")
	}
	browserCopy(t, tab, p, value)
	return row.ID, value
}

// browserCopy clicks the Copy button of a new value, and checks that the
// clipboard then holds value.
func browserCopy(t *testing.T, tab context.Context, p *browserPortal, value string) {
	t.Helper()
	// A page reads the clipboard only with a permission that a test
	// cannot click to give; the protocol gives it. This cdproto has no
	// Browser.grantPermissions, so Browser.setPermission grants by
	// descriptor: Chromium's clipboardReadWrite is clipboard-read, or
	// clipboard-write without sanitization, and its
	// clipboardSanitizedWrite is clipboard-write.
	for _, perm := range []*browser.PermissionDescriptor{
		{Name: "clipboard-read"},
		{Name: "clipboard-write"},
		{Name: "clipboard-write", AllowWithoutSanitization: true},
	} {
		_, err := chromedp.CallBrowser(tab, browser.SetPermission, browser.SetPermissionParams{
			Permission: perm, Setting: browser.PermissionSettingGranted, Origin: p.url,
		})
		if err != nil {
			t.Fatalf("granting %s: %v", perm.Name, err)
		}
	}
	browserDo(t, tab, "clicking Copy", chromedp.Click(chromedp.CSS("button[data-copy]")))
	// The click's handler writes the clipboard, then says so.
	status := browserRun(t, tab, "waiting for the copy status", chromedp.Poll[string](
		`document.querySelector("[data-copy-status]").textContent`, chromedp.WithPollingTimeout(browserStepTimeout)))
	if status != "Copied to the clipboard." {
		t.Fatalf("after Copy the status says %q, want that it was copied", status)
	}
	got := browserRun(t, tab, "reading the clipboard", chromedp.Evaluate[string](
		`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if got != value {
		t.Errorf("after Copy the clipboard holds %d characters other than the value", len(got))
	}
}

// browserReloadHidesValue reloads the page that showed value, and checks
// that the value is gone from it.
func browserReloadHidesValue(t *testing.T, tab context.Context, value string) {
	browserReload(t, tab)
	browserNoValue(t, tab, "after a reload")
	html := browserEval[string](t, tab, `document.documentElement.outerHTML`)
	if strings.Contains(html, value) {
		t.Errorf("after a reload the page's HTML still holds the value")
	}
	browserWantRows(t, tab, 1, "after a reload")
}

// browserCreateWithMouse creates a secret named name with mouse clicks,
// typing only the name, and returns its id and value.
func browserCreateWithMouse(t *testing.T, tab context.Context, p *browserPortal, name string) (id, value string) {
	t.Helper()
	before := browserRows(t, tab)
	browserDo(t, tab, "clicking the name field and typing "+name,
		chromedp.Click(chromedp.ID("name")), chromedp.KeyEvent(name))
	browserNavigates(t, tab, "clicking Create", chromedp.Click(chromedp.CSS("button[data-create]")))
	value = browserNewValue(t, tab, p)
	row := browserNewRow(t, before, browserRows(t, tab), value)
	if row.Signing {
		t.Errorf("the secret %s signs webhooks, but it is not the first", name)
	}
	return row.ID, value
}

// browserForgeCreate checks that, with 3 secrets, the page disables
// creating, and that the server refuses a creation that a customer forces
// by removing the disabled attributes.
func browserForgeCreate(t *testing.T, tab context.Context) {
	t.Helper()
	browserReload(t, tab) // no value on the page: what follows must not show one
	browserWantRows(t, tab, 3, "after 3 creations")
	if !browserEval[bool](t, tab, `document.querySelector("button[data-create]").disabled`) {
		t.Fatalf("with 3 secrets the create button is enabled")
	}
	if !browserEval[bool](t, tab, `document.querySelector("#name").disabled`) {
		t.Errorf("with 3 secrets the name field is enabled")
	}
	if hint := browserText(t, tab, "#full"); !strings.Contains(hint, "the most you may have") {
		t.Errorf("with 3 secrets the page says %q, want that 3 is the most", hint)
	}

	browserDo(t, tab, "removing the disabled attributes", chromedp.Evaluate[chromedp.Void](
		`document.querySelectorAll("form.create [disabled]").forEach(el => el.removeAttribute("disabled"))`))
	browserNavigates(t, tab, "clicking the forced Create", chromedp.Click(chromedp.CSS("button[data-create]")))
	if problem := browserText(t, tab, "p.problem"); !strings.Contains(problem, "the most you may have") {
		t.Errorf("a forced fourth creation says %q, want the limit of 3", problem)
	}
	browserWantRows(t, tab, 3, "after a forced fourth creation")
	browserNoValue(t, tab, "after a forced fourth creation")
}

// browserOpenDialog follows the link action ("signing" or "remove") of
// the secret id and checks that its confirmation opens as a modal dialog.
func browserOpenDialog(t *testing.T, tab context.Context, id, action string) {
	t.Helper()
	link := `tr[data-secret-id="` + id + `"] a[data-action="` + action + `"]`
	browserNavigates(t, tab, "clicking "+action+" of "+id, chromedp.Click(chromedp.CSS(link)))
	browserDo(t, tab, "waiting for the dialog", chromedp.WaitVisible(chromedp.CSS("dialog[data-modal]")))
	// portal.js reopens the dialog with showModal, which makes the page
	// behind it inert; without that a keyboard can leave it.
	browserRun(t, tab, "waiting for the dialog to be modal", chromedp.Poll[bool](
		`document.querySelector("dialog[data-modal]").matches(":modal")`, chromedp.WithPollingTimeout(browserStepTimeout)))
}

// browserWantSigning fails t unless the secret signing is the one row of
// the page that signs webhooks.
func browserWantSigning(t *testing.T, tab context.Context, signing string, when string) []browserRow {
	t.Helper()
	rows := browserRows(t, tab)
	for _, r := range rows {
		if r.Signing != (r.ID == signing) {
			t.Fatalf("%s, the secret %s signs webhooks: %t, want %t", when, r.ID, r.Signing, !r.Signing)
		}
	}
	return rows
}

// browserUseWithWebhooks moves webhook signing from the first secret to
// the second, after cancelling once with Cancel and once with Escape.
func browserUseWithWebhooks(t *testing.T, tab context.Context, ids []string) {
	browserOpenDialog(t, tab, ids[1], "signing")
	browserNavigates(t, tab, "clicking Cancel", chromedp.Click(chromedp.CSS("dialog[data-modal] a.button.secondary")))
	if path := browserPath(t, tab); path != "/" {
		t.Errorf("Cancel led to %s, want /", path)
	}
	browserWantSigning(t, tab, ids[0], "after Cancel")

	browserOpenDialog(t, tab, ids[2], "signing")
	browserNavigates(t, tab, "pressing Escape in the dialog", chromedp.KeyEvent(kb.Escape))
	if path := browserPath(t, tab); path != "/" {
		t.Errorf("Escape led to %s, want /", path)
	}
	browserWantSigning(t, tab, ids[0], "after Escape")

	browserOpenDialog(t, tab, ids[1], "signing")
	browserNavigates(t, tab, "clicking Confirm", chromedp.Click(chromedp.CSS(`dialog[data-modal] button[type="submit"]`)))
	rows := browserWantSigning(t, tab, ids[1], "after Confirm")
	if !browserRowOf(t, rows, ids[0]).Remove {
		t.Errorf("the first secret, which no longer signs, has no Remove link")
	}
	if browserRowOf(t, rows, ids[1]).Remove {
		t.Errorf("the second secret, which signs, has a Remove link")
	}
	if notice := browserText(t, tab, "p.notice"); !strings.Contains(notice, "now signed with this secret") {
		t.Errorf("after Confirm the notice says %q", notice)
	}
}

// browserRemove removes the secret id, after a wrong phrase that removes
// nothing.
func browserRemove(t *testing.T, tab context.Context, id string) {
	browserOpenDialog(t, tab, id, "remove")
	browserNamedControls(t, tab, "the confirmation of a removal")
	confirm := chromedp.Click(chromedp.CSS(`dialog[data-modal] button.danger[type="submit"]`))

	browserDo(t, tab, "typing a wrong phrase", chromedp.SendKeys(chromedp.ID("phrase"), "remove it"))
	browserNavigates(t, tab, "confirming with a wrong phrase", confirm)
	if problem := browserText(t, tab, "p.problem"); !strings.Contains(problem, "does not match") {
		t.Errorf("a wrong phrase says %q, want that it does not match", problem)
	}
	browserWantRows(t, tab, 3, "after a wrong phrase")
	// The page asks again, with the problem in the dialog.
	if n := browserCount(t, tab, "dialog[data-modal] p.problem"); n != 1 {
		t.Errorf("after a wrong phrase the dialog holds %d problems, want 1", n)
	}

	phrase := browserText(t, tab, "strong[data-phrase]")
	browserDo(t, tab, "typing the phrase", chromedp.SendKeys(chromedp.ID("phrase"), phrase))
	browserNavigates(t, tab, "confirming with the phrase", confirm)
	rows := browserWantRows(t, tab, 2, "after the removal")
	for _, r := range rows {
		if r.ID == id {
			t.Errorf("after the removal the secret %s is still listed", id)
		}
	}
	if notice := browserText(t, tab, "p.notice"); !strings.Contains(notice, "was removed") {
		t.Errorf("after the removal the notice says %q", notice)
	}
}

// browserSigningRowHasNoRemove checks that the secret that signs, signing,
// has no Remove link, and is the only one that signs.
func browserSigningRowHasNoRemove(t *testing.T, tab context.Context, signing string) {
	for _, r := range browserWantSigning(t, tab, signing, "after the removal") {
		if r.Signing && (r.Remove || r.Use) {
			t.Errorf("the secret that signs, %s, has actions: Remove %t, Use with webhooks %t", r.ID, r.Remove, r.Use)
		}
		if !r.Signing && !r.Remove {
			t.Errorf("the secret %s, which does not sign, has no Remove link", r.ID)
		}
	}
	if n := browserCount(t, tab, `tr[data-signing] a[data-action="remove"]`); n != 0 {
		t.Errorf("the row that signs has %d Remove links", n)
	}
}

// browserTestWebhook sends a test webhook and verifies its signature with
// value, the secret that signs webhooks.
func browserTestWebhook(t *testing.T, tab context.Context, value string) {
	browserNavigates(t, tab, "clicking Send a test webhook", chromedp.Click(chromedp.CSS("section#test-webhook form button")))
	browserDo(t, tab, "waiting for the delivery", chromedp.WaitVisible(chromedp.CSS("[data-test-delivery]")))
	header := func(name string) string {
		t.Helper()
		text := browserText(t, tab, `[data-test-delivery] span[data-header="`+name+`"]`)
		v, ok := strings.CutPrefix(text, name+": ")
		if !ok || v == "" {
			t.Fatalf("the delivery's %s header reads %q", name, text)
		}
		return v
	}
	id, ts, sig := header("webhook-id"), header("webhook-timestamp"), header("webhook-signature")
	body := browserText(t, tab, "[data-test-delivery] span[data-body]")
	var event struct{ Type string }
	if err := json.Unmarshal([]byte(body), &event); err != nil || event.Type != "portal.test" {
		t.Errorf("the delivery's body is not a portal.test event (%v): %s", err, body)
	}

	// Standard Webhooks: base64 of HMAC-SHA256 over id.timestamp.body,
	// keyed with the bytes of the secret, for a key that is no whsec_.
	mac := hmac.New(sha256.New, []byte(value))
	mac.Write([]byte(id + "." + ts + "." + body))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	signatures := strings.Fields(sig)
	if len(signatures) != 1 || signatures[0] != want {
		t.Errorf("the delivery carries %d signatures, none made with the second secret's value", len(signatures))
	}
}

// browserNamedControls checks that every control a customer can see on
// the page of ctx has a name that a screen reader can say: a label, text,
// or an aria-label.
func browserNamedControls(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	unnamed := browserEval[[]string](t, ctx, `[...document.querySelectorAll('input:not([type="hidden"]), button, a')]
		.filter(el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden")
		.filter(el => ![
			...[...(el.labels ?? [])].map(l => l.textContent),
			el.textContent,
			el.getAttribute("aria-label") ?? "",
		].some(name => name.trim() !== ""))
		.map(el => el.outerHTML.slice(0, 200))`)
	if len(unnamed) > 0 {
		t.Errorf("on %s, %d controls have no accessible name:\n\t%s", page, len(unnamed), strings.Join(unnamed, "\n\t"))
	}
}

// browserTabThrough presses Tab from the top of the page of tab, just
// opened, and checks that each press moves the focus to another control.
func browserTabThrough(t *testing.T, tab context.Context) {
	t.Helper()
	if el := browserEval[string](t, tab, `document.activeElement.tagName`); el != "BODY" {
		t.Fatalf("after a reload the focus is on %s, want the page itself", el)
	}
	// focused describes the focused element: its tag, the index that
	// tells it from the other elements with that tag, and for a control
	// its text or id.
	const focused = `(() => {
		const el = document.activeElement;
		const what = ["A", "BUTTON", "INPUT"].includes(el.tagName) ? " " + (el.textContent.trim() || el.id).slice(0, 40) : "";
		return el.tagName + "#" + [...document.getElementsByTagName(el.tagName)].indexOf(el) + what;
	})()`
	seen := map[string]bool{}
	previous := "BODY"
	for i := range 6 {
		browserDo(t, tab, "pressing Tab", chromedp.KeyEvent(kb.Tab))
		now := browserEval[string](t, tab, focused)
		tag, _, _ := strings.Cut(now, "#")
		switch {
		case tag != "A" && tag != "BUTTON" && tag != "INPUT":
			t.Fatalf("Tab %d focused %s, which is no control", i+1, now)
		case now == previous || seen[now]:
			t.Fatalf("Tab %d left the focus on %s, or came back to it", i+1, now)
		}
		seen[now], previous = true, now
	}
}

// browserScreens checks that the page fits a narrow screen without
// scrolling sideways, and that the page at a narrow and a desktop size
// draws something; the screenshots are kept as the test's artifacts.
func browserScreens(t *testing.T, tab context.Context) {
	for _, screen := range []struct {
		name          string
		width, height int64
	}{{"narrow", 360, 740}, {"desktop", 1280, 800}} {
		browserDo(t, tab, "emulating the "+screen.name+" screen", chromedp.EmulateViewport(screen.width, screen.height))
		browserReload(t, tab)
		if w := browserEval[int64](t, tab, `window.innerWidth`); w != screen.width {
			t.Fatalf("the %s screen is %d pixels wide, want %d", screen.name, w, screen.width)
		}
		if scroll := browserEval[int64](t, tab, `document.documentElement.scrollWidth`); scroll > screen.width {
			t.Errorf("on the %s screen the page is %d pixels wide: it scrolls sideways", screen.name, scroll)
		}
		shot := browserRun(t, tab, "taking a screenshot", chromedp.FullScreenshot(100))
		browserCheckPNG(t, screen.name, shot, int(screen.width))
		browserKeep(t, "portal-"+screen.name+".png", shot)
	}
}

// browserCheckPNG checks that shot, a screenshot of the screen name, is a
// PNG as wide as width with something drawn on it: more than 2% of its
// pixels differ from the top-left one, and it has more than 20 colours.
func browserCheckPNG(t *testing.T, name string, shot []byte, width int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the %s screenshot is no PNG: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() != width {
		t.Errorf("the %s screenshot is %d pixels wide, want %d", name, b.Dx(), width)
	}
	corner := browserRGBA(img, b.Min.X, b.Min.Y)
	colours := map[[4]uint32]bool{}
	differ := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := browserRGBA(img, x, y)
			colours[c] = true
			if c != corner {
				differ++
			}
		}
	}
	if total := b.Dx() * b.Dy(); differ*50 < total {
		t.Errorf("the %s screenshot looks blank: %d of its %d pixels differ from the top-left one", name, differ, total)
	}
	if len(colours) <= 20 {
		t.Errorf("the %s screenshot looks blank: it has %d colours", name, len(colours))
	}
}

// browserRGBA returns the colour of the pixel (x, y) of img.
func browserRGBA(img image.Image, x, y int) [4]uint32 {
	r, g, b, a := img.At(x, y).RGBA()
	return [4]uint32{r, g, b, a}
}

// browserKeep saves a screenshot as an artifact of the test: go test
// -artifacts keeps it, under -outputdir, for a person to look at.
func browserKeep(t *testing.T, name string, shot []byte) {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatalf("saving the screenshot: %v", err)
	}
	t.Logf("saved %s", path)
}
