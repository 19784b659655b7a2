package rotationhttp

import (
	"net/http"
	"path"
	"strings"
)

// Routes serves mux, answering with render what [http.ServeMux] would
// otherwise answer itself, in plain text or with a redirect:
//
//   - a path mux knows no route for is a 404 [CodeNotFound], with
//     ResourceType "route" and the path (every segment that might be a
//     key replaced by "REDACTED") as ResourceID;
//   - a route that takes other methods is a 405 [CodeMethodNotAllowed],
//     with the Allow header mux gives;
//   - a path that is not clean (with "//", "/./" or "/../" in it, which
//     ServeMux redirects to its cleaned form) is a 404 too, and never a
//     redirect: a redirect would repeat the path in Location and in its
//     body, and with it a key a client pasted into the URL. So is a path
//     that lacks a route's trailing slash, if a segment of it might be a
//     key; another is redirected, as ServeMux does.
//
// Every other request goes to mux.
func Routes(mux *http.ServeMux, render Renderer) http.Handler {
	if mux == nil || render == nil {
		panic("rotationhttp: Routes with a nil ServeMux or Renderer")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notFound := func() {
			render(w, r, Failure{
				Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such route",
				ResourceType: "route", ResourceID: shownPath(r.URL.Path),
			})
		}
		if r.Method != http.MethodConnect && !clean(r.URL.Path) {
			notFound()
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			// ServeMux redirects a path that lacks a route's trailing
			// slash to the path with one; the redirect repeats the path,
			// so it is let through only when nothing in it might be a key.
			redirect := strings.HasSuffix(pattern, "/") && !strings.HasSuffix(r.URL.Path, "/")
			if redirect && shownPath(r.URL.Path) != r.URL.Path {
				notFound()
				return
			}
			mux.ServeHTTP(w, r)
			return
		}
		// ServeMux knows no route: learn from its own answer whether the
		// path is unknown or the method, without sending that answer.
		var probe probeWriter
		h.ServeHTTP(&probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			if allow := probe.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			render(w, r, Failure{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "the route does not take this method"})
			return
		}
		notFound()
	})
}

// clean reports whether p is the path ServeMux would serve as it is,
// without redirecting to a cleaned form.
func clean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/" // Clean drops a trailing slash, which ServeMux keeps
	}
	return c == p
}

// probeWriter is a ResponseWriter that keeps the status and the headers
// of a response and drops its body.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header {
	if p.header == nil {
		p.header = make(http.Header)
	}
	return p.header
}

func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *probeWriter) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
