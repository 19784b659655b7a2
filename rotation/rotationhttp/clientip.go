package rotationhttp

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client that sent r: the connection's
// peer, or, when the peer is one of [Options].TrustedProxies, the
// right-most address in X-Forwarded-For that is not a trusted proxy (the
// left-most one if all are). It returns the zero Addr when the address
// cannot be told, such as an unparsable entry reached in X-Forwarded-For;
// the Rotator then admits only keys with no authorized networks.
// IPv4-mapped IPv6 addresses are returned as IPv4, without zones.
func (a *Authenticator) ClientIP(r *http.Request) netip.Addr {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !a.trusted(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			ip, ok := parseAddr(entries[j])
			if !ok {
				// A trusted proxy passed on something that is not an
				// address: the client cannot be told.
				return netip.Addr{}
			}
			client = ip
			if !a.trusted(ip) {
				return ip
			}
		}
	}
	return client
}

func (a *Authenticator) trusted(ip netip.Addr) bool {
	for _, p := range a.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseAddr reads an address with or without a port, as RemoteAddr and
// X-Forwarded-For entries hold them. It tries "ip:port" first, the shape
// of every RemoteAddr from net/http's server, so that the common case
// makes no error value.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		ip = ap.Addr()
	} else if ip, err = netip.ParseAddr(s); err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
