package rotationhttp

import (
	"encoding/json"
	"net/http"
	"net/netip"
)

// problem is an RFC 9457 problem details object, with the extension
// members rotor's failures need. Members whose field is the zero value are
// left out, except title and status.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`

	Code           string       `json:"code,omitempty"`
	Realm          string       `json:"realm,omitempty"`
	Scope          string       `json:"scope,omitempty"`
	ResourceType   string       `json:"resourceType,omitempty"`
	ResourceID     string       `json:"resourceId,omitempty"`
	Errors         []FieldError `json:"errors,omitempty"`
	TotalPermitted int          `json:"total_permitted,omitempty"`
	Limit          int          `json:"limit,omitempty"`
	IPAddress      netip.Addr   `json:"ip_address,omitzero"`
}

// WriteProblem is the [Renderer] of RFC 9457 problem details: it sends f
// as application/problem+json, with the headers of [Failure.SetHeaders].
// The members are type ("about:blank"), title (the status phrase), status,
// detail (f.Message), instance (r's path, with every segment that might be
// a key replaced by "REDACTED"), code, and those f fills: realm, scope,
// resourceType, resourceId, errors (each {field, detail}),
// total_permitted, limit and ip_address. A zero Status is sent as 500.
func WriteProblem(w http.ResponseWriter, r *http.Request, f Failure) {
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	p := problem{
		Type:           "about:blank",
		Title:          http.StatusText(f.Status),
		Status:         f.Status,
		Detail:         f.Message,
		Code:           f.Code,
		Realm:          f.Realm,
		Scope:          f.Scope,
		ResourceType:   f.ResourceType,
		ResourceID:     f.ResourceID,
		Errors:         f.Fields,
		TotalPermitted: f.TotalPermitted,
		Limit:          f.Limit,
		IPAddress:      f.IP,
	}
	if r != nil {
		p.Instance = shownPath(r.URL.Path)
	}
	f.SetHeaders(w.Header())
	writeBody(w, "application/problem+json", f.Status, p)
}

// WriteError answers r with [WriteProblem] of [FailureFor](err). It logs
// nothing; [Authenticator.Error] also logs, and renders in the shape the
// Authenticator's options choose.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblem(w, r, FailureFor(err))
}

// WriteJSON sends v as the JSON body of a response with the status, as
// Content-Type application/json, with Cache-Control: no-store, since
// rotor's answers may hold a key shown once. Renderers and handlers use
// it alike. A v that does not encode is a bug: the response is then a
// bare 500.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, "application/json", status, v)
}

func writeBody(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// A value that refuses to be encoded, such as a secrets.Value put
		// where its Reveal belongs: say nothing of it.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
