package rotationhttp

import (
	"net/http"
	"net/netip"
	"strconv"

	"github.com/rotorkit/rotor/rotation"
)

// Handle returns the handler of a route that requires scope, for serve,
// the route's own logic: it authenticates the request as
// [Authenticator.Require] does, decodes its body into a Req with
// [DecodeJSON] (an empty body leaves the zero Req; a route that takes no
// body uses struct{}), and calls serve with the request, the principal
// and the Req. What serve returns is written with [WriteJSON] and the
// status it gives; its error, and every refusal before it, is answered
// by [Authenticator.Error], in the shape of [Options].Render:
//
//	mux.Handle("POST /api_tokens", rotationhttp.Handle(auth, "api_tokens",
//		func(r *http.Request, p rotation.Principal, req createRequest) (int, any, error) {
//			iss, err := rot.Create(r.Context(), p.Owner, req.spec())
//			if err != nil {
//				return 0, nil, err
//			}
//			return http.StatusCreated, viewOf(iss), nil
//		}))
//
// Req must be a struct type, as DecodeJSON requires.
func Handle[Req any](a *Authenticator, scope string, serve func(r *http.Request, p rotation.Principal, req Req) (status int, reply any, err error)) http.Handler {
	if a == nil || serve == nil {
		panic("rotationhttp: Handle with a nil Authenticator or func")
	}
	return a.Require(scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		var req Req
		if err := DecodeJSON(r, &req); err != nil {
			a.Error(w, r, err)
			return
		}
		status, reply, err := serve(r, p, req)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		WriteJSON(w, status, reply)
	}))
}

// RenameFields returns err with the field of every [*rotation.ValidationError]
// in it renamed by names, from the Rotator's name ("RateLimit",
// "ExpiresAt") to the request member's ("api_token.rate_limit"), so that
// a 422 names what the client sent. A field names does not hold keeps
// its name; errors of other types, such as this package's [*BodyError],
// keep theirs, since those name what the client sent already. The
// result matches whatever err matches; a nil err stays nil.
func RenameFields(err error, names map[string]string) error {
	if err == nil {
		return nil
	}
	return &renamedError{err: err, names: names}
}

// renamedError is err, whose validation errors' fields [FailureFor] reads
// through names.
type renamedError struct {
	err   error
	names map[string]string
}

func (e *renamedError) Error() string { return e.err.Error() }
func (e *renamedError) Unwrap() error { return e.err }

// ParseNetworks reads the networks a key may be used from, each an IPv4
// or IPv6 address (meaning that one address) or a CIDR range, whose host
// bits are dropped: what a request member such as
// "authorized_ip_addresses" holds. An entry it cannot read is a
// [*BodyError] naming field and the entry's index, which [FailureFor]
// maps to 422; the entry itself is not repeated.
func ParseNetworks(field string, entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for i, e := range entries {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			ip, aerr := netip.ParseAddr(e)
			if aerr != nil || ip.Zone() != "" {
				return nil, invalid(field+"["+strconv.Itoa(i)+"]", "must be an IPv4 or IPv6 address or CIDR range")
			}
			p = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
