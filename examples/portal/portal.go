package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
)

var (
	//go:embed portal.html
	portalHTML string
	//go:embed static
	files embed.FS

	pages  = template.Must(template.New("portal").Funcs(template.FuncMap{"date": date}).Parse(portalHTML))
	static = must(fs.Sub(files, "static"))
)

// server answers the portal's pages. It is safe for concurrent use; make
// one with newHandler.
type server struct {
	rot      *rotation.Rotator
	signer   *hmacsign.Signer
	sessions *sessions
	now      func() time.Time
	log      *slog.Logger
}

// newHandler returns the portal's routes over env.
func newHandler(env service.Env) (http.Handler, error) {
	s := &server{
		rot:      env.Rotator,
		signer:   hmacsign.NewSigner(env.Rotator, &hmacsign.SignerOptions{Now: env.Now}),
		sessions: newSessions(env.Now),
		now:      env.Now,
		log:      env.Log,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page(nil))
	mux.HandleFunc("GET /login/{token}", s.login)
	mux.HandleFunc("GET /secrets/{id}/signing", s.page(confirm("signing")))
	mux.HandleFunc("GET /secrets/{id}/remove", s.page(confirm("remove")))
	mux.HandleFunc("POST /secrets", s.change(s.create))
	mux.HandleFunc("POST /secrets/{id}/signing", s.change(s.setSigning))
	mux.HandleFunc("POST /secrets/{id}/remove", s.change(s.remove))
	mux.HandleFunc("POST /test-webhook", s.change(s.testWebhook))
	mux.HandleFunc("POST /logout", s.change(s.logout))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusNotFound, &view{Heading: "Page not found", Problem: "There is no such page."})
	})
	// Forms carry the session's token; this refuses, besides, what a
	// browser says came from another site.
	cross := http.NewCrossOriginProtection()
	cross.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusForbidden, &view{Heading: "Request refused", Problem: "This request came from another site, so nothing was changed."})
	}))
	return cross.Handler(mux), nil
}

// view is what a page shows.
type view struct {
	Owner    string // "": nobody is signed in
	CSRF     string
	Secrets  []rotation.Secret
	Max      int  // the most active secrets a customer may have
	Full     bool // Max are active
	MaxName  int
	Notice   string
	Problem  string
	Created  *rotation.Issued
	Test     *delivery
	Confirm  string // "signing" or "remove": the confirmation to ask for
	Target   *rotation.Secret
	Phrase   string // what the confirmation of a removal must be given
	Continue bool   // a sign-in page that goes on to the tab
	Heading  string // a page that only says Problem, under this heading
}

// delivery is a test webhook as the customer's receiver would get it.
type delivery struct {
	Headers    [][2]string
	Body       string
	Signatures int
}

// page returns the handler of a page of the tab; ask, if not nil, adds
// the confirmation the page asks for, or says why it cannot.
func (s *server) page(ask func(*view, *http.Request) (int, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r)
		if sess == nil {
			s.render(w, http.StatusForbidden, &view{})
			return
		}
		v, err := s.view(r.Context(), sess)
		if err != nil {
			s.render(w, http.StatusInternalServerError, &view{Heading: "Something went wrong", Problem: s.explain(r.Context(), err)})
			return
		}
		status := http.StatusOK
		if ask != nil {
			if code, problem := ask(v, r); problem != "" {
				status, v.Problem = code, problem
			}
		}
		s.render(w, status, v)
	}
}

// confirm returns what a page asks to confirm kind ("signing" or
// "remove") for the secret of the request's path.
func confirm(kind string) func(*view, *http.Request) (int, string) {
	return func(v *view, r *http.Request) (int, string) {
		i := slices.IndexFunc(v.Secrets, func(sec rotation.Secret) bool { return sec.ID == r.PathValue("id") })
		switch {
		case i < 0:
			return http.StatusNotFound, "That API secret does not exist any more."
		case v.Secrets[i].Signing && kind == "signing":
			return http.StatusConflict, "This secret signs your webhooks already."
		case v.Secrets[i].Signing:
			return http.StatusConflict, designated
		case v.Secrets[i].Status != rotation.StatusActive && kind == "signing":
			return http.StatusConflict, inactive
		}
		v.Confirm, v.Target, v.Phrase = kind, &v.Secrets[i], phrase(&v.Secrets[i])
		return http.StatusOK, ""
	}
}

// phrase is what a customer types to remove sec.
func phrase(sec *rotation.Secret) string { return "remove " + sec.Current.Hint }

// view returns the page of the tab that sess sees now, with its flash.
func (s *server) view(ctx context.Context, sess *session) (*view, error) {
	list, err := s.rot.List(ctx, sess.owner)
	if err != nil {
		return nil, err
	}
	f := s.sessions.takeFlash(sess)
	v := &view{Owner: sess.owner, CSRF: sess.csrf, Secrets: list, Max: s.rot.Policy().MaxActive, MaxName: rotation.MaxNameLen,
		Notice: f.notice, Problem: f.problem, Created: f.created, Test: f.test}
	active := 0
	for _, sec := range list {
		if sec.Status == rotation.StatusActive {
			active++
		}
	}
	v.Full = active >= v.Max
	return v, nil
}

// change returns the handler of a POST of the tab: do makes the change
// for a signed-in session whose form carries its token, and says what the
// next page shows and where it is; the browser is sent there.
func (s *server) change(do func(http.ResponseWriter, *http.Request, *session) (flash, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		sess := s.sessions.get(r)
		switch {
		case sess == nil:
			s.render(w, http.StatusForbidden, &view{})
		case !validToken(sess, r):
			s.render(w, http.StatusForbidden, &view{Heading: "Request refused", Problem: "This form has expired, so nothing was changed. Reload the page and try again."})
		default:
			f, next := do(w, r, sess)
			s.sessions.setFlash(sess, f)
			http.Redirect(w, r, next, http.StatusSeeOther)
		}
	}
}

// create serves POST /secrets: a new secret, whose value the next page
// shows.
func (s *server) create(_ http.ResponseWriter, r *http.Request, sess *session) (flash, string) {
	spec := rotation.Spec{Name: strings.TrimSpace(r.PostFormValue("name")), HMAC: true}
	iss, err := s.rot.Create(r.Context(), sess.owner, spec)
	if err != nil {
		return flash{problem: s.explain(r.Context(), err)}, "/"
	}
	return flash{created: iss}, "/"
}

// setSigning serves POST /secrets/{id}/signing, the confirmed "Use with
// webhooks".
func (s *server) setSigning(_ http.ResponseWriter, r *http.Request, sess *session) (flash, string) {
	if err := s.rot.SetSigning(r.Context(), sess.owner, r.PathValue("id")); err != nil {
		return flash{problem: s.explain(r.Context(), err)}, "/"
	}
	return flash{notice: "Webhooks are now signed with this secret."}, "/"
}

// remove serves POST /secrets/{id}/remove: the secret goes, if the form's
// phrase is the one the page asked for.
func (s *server) remove(_ http.ResponseWriter, r *http.Request, sess *session) (flash, string) {
	id := r.PathValue("id")
	sec, err := s.rot.Get(r.Context(), sess.owner, id)
	switch {
	case err == nil && sec.Signing:
		err = rotation.ErrDesignated // as Delete would say
	case err == nil && strings.TrimSpace(r.PostFormValue("phrase")) != phrase(&sec):
		return flash{problem: "The phrase does not match, so nothing was removed. Type it as shown."}, "/secrets/" + id + "/remove"
	case err == nil:
		err = s.rot.Delete(r.Context(), sess.owner, id)
	}
	if err != nil {
		return flash{problem: s.explain(r.Context(), err)}, "/"
	}
	return flash{notice: "The secret ending in " + sec.Current.Hint + " was removed: it no longer works."}, "/"
}

// testWebhook serves POST /test-webhook: a test event, signed as webhooks
// are, for the next page to show.
func (s *server) testWebhook(_ http.ResponseWriter, r *http.Request, sess *session) (flash, string) {
	body, err := json.Marshal(map[string]any{
		"type":      "portal.test",
		"timestamp": s.now().UTC().Format(time.RFC3339),
		"data":      map[string]string{"customer": sess.owner},
	})
	if err != nil {
		return flash{problem: s.explain(r.Context(), err)}, "/"
	}
	msg, err := s.signer.Sign(r.Context(), sess.owner, "", body)
	if errors.Is(err, hmacsign.ErrNoKeys) {
		return flash{problem: "Create an API secret first: webhooks are signed with one."}, "/"
	} else if err != nil {
		return flash{problem: s.explain(r.Context(), err)}, "/"
	}
	h := http.Header{"Content-Type": {"application/json"}}
	s.signer.SetHeaders(h, msg)
	d := &delivery{Body: string(body), Signatures: strings.Count(msg.Signature, "v1,")}
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "content-type"} {
		d.Headers = append(d.Headers, [2]string{name, h.Get(name)})
	}
	return flash{test: d}, "/#test-webhook"
}

// logout serves POST /logout.
func (s *server) logout(w http.ResponseWriter, r *http.Request, _ *session) (flash, string) {
	s.sessions.end(w, r)
	return flash{}, "/"
}

// explain returns what a page says of err, a failed change; errors that a
// customer cannot act on are logged, and said in general terms.
func (s *server) explain(ctx context.Context, err error) string {
	var invalid *rotation.ValidationError
	switch {
	case errors.Is(err, rotation.ErrLimitReached):
		return fmt.Sprintf("You have %d API secrets, the most you may have. Remove one to create another.", s.rot.Policy().MaxActive)
	case errors.Is(err, rotation.ErrDesignated):
		return designated
	case errors.Is(err, rotation.ErrNotFound):
		return "That API secret does not exist any more."
	case errors.Is(err, rotation.ErrNotActive), errors.Is(err, rotation.ErrCannotSign):
		return inactive
	case errors.As(err, &invalid) && invalid.Field == "Name":
		return "The name " + invalid.Reason + "."
	case errors.Is(err, rotation.ErrConflict):
		return "Too many changes were made at once, so nothing was changed. Try again."
	}
	s.log.ErrorContext(ctx, "portal: a change failed", "err", err) // rotor's errors hold no secret
	return "Something went wrong, and nothing was changed. Try again in a moment."
}

// What pages say of two refusals, both before a change and after one.
const (
	designated = "This secret signs your webhooks, so it cannot be removed. Choose another with “Use with webhooks” first."
	inactive   = "Only an active API secret can sign webhooks."
)

// render writes the page of v with status. Every page is no-store: one may
// hold a secret's value, and all hold a customer's data.
func (s *server) render(w http.ResponseWriter, status int, v *view) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "page", v); err != nil {
		s.log.Error("portal: rendering", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// date formats t for the page, in UTC.
func date(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
