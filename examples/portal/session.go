package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rotorkit/rotor/rotation"
)

const (
	// sessionCookie names the cookie that holds a session's token.
	sessionCookie = "portal_session"
	// sessionTTL is how long a session lasts from sign-in.
	sessionTTL = 8 * time.Hour
)

// A session is one signed-in browser. Its fields do not change, but for
// flash, which sessions guards.
type session struct {
	owner   string
	csrf    string // what every form of the session carries
	expires time.Time
	flash   flash
}

// flash is what the next page a session shows says, once: the outcome of
// the change the browser was redirected from.
type flash struct {
	notice  string
	problem string
	created *rotation.Issued // a new secret, with its value
	test    *delivery
}

// sessions are the signed-in browsers, by the SHA-256 of their cookie's
// token: the map holds no token a browser could present.
type sessions struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, byID: make(map[[sha256.Size]byte]*session)}
}

// start signs a browser in as owner, setting its cookie on w. The cookie
// is Secure when r came over TLS.
func (ss *sessions) start(w http.ResponseWriter, r *http.Request, owner string) {
	token := rand.Text()
	now := ss.now()
	ss.mu.Lock()
	for id, s := range ss.byID { // sign-ins are rare: prune as they come
		if !now.Before(s.expires) {
			delete(ss.byID, id)
		}
	}
	ss.byID[sha256.Sum256([]byte(token))] = &session{owner: owner, csrf: rand.Text(), expires: now.Add(sessionTTL)}
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// get returns the session of r's cookie, or nil if it has none that is
// still valid.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	id := sha256.Sum256([]byte(c.Value))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s != nil && !ss.now().Before(s.expires) {
		delete(ss.byID, id)
		return nil
	}
	return s
}

// end signs the browser of r out, and clears its cookie.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.byID, sha256.Sum256([]byte(c.Value)))
		ss.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// setFlash leaves f for the next page s shows.
func (ss *sessions) setFlash(s *session, f flash) {
	ss.mu.Lock()
	s.flash = f
	ss.mu.Unlock()
}

// takeFlash returns what the next page of s says, and forgets it: a new
// secret's value is shown by one page only.
func (ss *sessions) takeFlash(s *session) flash {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = flash{}
	return f
}

// validToken reports whether the form of r carries the token of s.
func validToken(s *session, r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) == 1
}

// login serves GET /login/{token}: a sign-in link signs the browser in,
// once, and goes on to the tab.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	owner, err := s.signIn(r.Context(), r.PathValue("token"))
	var refused *rotation.AuthError
	switch {
	case errors.As(err, &refused), errors.Is(err, rotation.ErrNotFound), errors.Is(err, errNotSignIn):
		s.render(w, http.StatusForbidden, &view{Problem: "This sign-in link does not work: it was used, has expired, or was replaced by a newer one. Ask for a new one."})
		return
	case err != nil:
		s.render(w, http.StatusInternalServerError, &view{Heading: "Something went wrong", Problem: s.explain(r.Context(), err)})
		return
	}
	s.sessions.start(w, r, owner)
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// A link followed from another site (a mail, a chat): a redirect
		// would still count as cross-site, and the browser would hold
		// back the SameSite=Strict cookie. The page goes on by itself.
		s.render(w, http.StatusOK, &view{Continue: true})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// errNotSignIn refuses a key that is valid but not a sign-in link, such
// as a customer's API secret.
var errNotSignIn = errors.New("not a sign-in key")

// signIn returns the customer whose sign-in link token is, and deletes the
// link: of two visits with one link, one deletes it and the other finds it
// gone.
func (s *server) signIn(ctx context.Context, token string) (string, error) {
	p, err := s.rot.Authenticate(ctx, token, rotation.Request{Scope: signInScope})
	if err != nil {
		return "", err
	}
	owner, ok := strings.CutSuffix(p.Owner, signInSuffix)
	if !ok || p.Secret.Format != signInFormat {
		return "", errNotSignIn
	}
	if err := s.rot.Delete(ctx, p.Owner, p.Secret.ID); err != nil {
		return "", err
	}
	return owner, nil
}
