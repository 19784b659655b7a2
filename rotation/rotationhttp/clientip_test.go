package rotationhttp_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string // one header line each
		want    string   // empty: the zero Addr
	}{
		{name: "peer", remote: "192.0.2.1:1234", want: "192.0.2.1"},
		{name: "peer over IPv6", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "IPv4-mapped peer", remote: "[::ffff:198.51.100.1]:443", want: "198.51.100.1"},
		{name: "peer with a zone", remote: "[fe80::1%eth0]:443", want: "fe80::1"},
		{name: "peer without a port", remote: "198.51.100.1", want: "198.51.100.1"},
		{name: "unparsable peer", remote: "@/run/app.sock", want: ""},
		{name: "forwarded for, no proxy trusted", remote: "192.0.2.1:1234", xff: []string{"203.0.113.5"}, want: "192.0.2.1"},

		{name: "trusted proxy, no header", proxies: trusted, remote: "192.0.2.1:1234", want: "192.0.2.1"},
		{name: "trusted proxy", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"203.0.113.5"}, want: "203.0.113.5"},
		{name: "trusted proxy over IPv6", proxies: trusted, remote: "[2001:db8:ffff::7]:1234", xff: []string{"2001:db8::9"}, want: "2001:db8::9"},
		{name: "proxy not trusted", proxies: trusted, remote: "198.51.100.1:1234", xff: []string{"203.0.113.5"}, want: "198.51.100.1"},
		{name: "chain of trusted proxies", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"203.0.113.5, 192.0.2.2"}, want: "203.0.113.5"},
		{name: "forged entries left of the client", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"10.0.0.1, 203.0.113.5"}, want: "203.0.113.5"},
		{name: "several header lines", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"10.0.0.1, 203.0.113.5", "192.0.2.3"}, want: "203.0.113.5"},
		{name: "only trusted proxies", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"192.0.2.4,192.0.2.3"}, want: "192.0.2.4"},
		{name: "entry with a port", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"203.0.113.5:4711"}, want: "203.0.113.5"},
		{name: "garbage past the client is never read", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"garbage, 203.0.113.5"}, want: "203.0.113.5"},
		{name: "garbage from a trusted proxy", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"203.0.113.5, garbage"}, want: ""},
		{name: "empty entry", proxies: trusted, remote: "192.0.2.1:1234", xff: []string{"203.0.113.5, "}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, func(o *rotationhttp.Options) { o.TrustedProxies = tt.proxies })
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			is.Equal(f.auth.ClientIP(r), want) // the client, as far as the trusted proxies tell
		})
	}
}
