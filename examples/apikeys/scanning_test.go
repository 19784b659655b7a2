package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/scanningtest"
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/examples/internal/servicetest"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// TestSecretScanningReports runs the command with -scanning-keys, as
// main does, and posts GitHub's reports to it: a badly signed one is
// refused and changes nothing; one signed with the key in the file
// revokes the live key it names, and leaves the sandbox key alone.
func TestSecretScanningReports(t *testing.T) {
	servicetest.EachDatabase(t, func(t *testing.T, getenv func(string) string) {
		is := is.New(t)
		data := t.TempDir()
		var out, logs secretstest.Logs
		is.NoErr(service.Run(t.Context(), app, []string{"-data", data, "-create-owner", "acme"}, getenv, &out, &logs))
		m := regexp.MustCompile(`secret=(\S+)\ntest_secret=(\S+)`).FindStringSubmatch(out.String())
		is.True(m != nil) // the command printed both keys
		live, sandbox := m[1], m[2]

		github := scanningtest.New(t, "github-key-1")
		addr, stop := scanningtest.Serve(t, app, []string{"-data", data, "-scanning-keys", github.KeysFile(t)}, getenv, &logs)
		list := func(key string) int {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, addr+"/v1/api-keys", nil)
			is.NoErr(err)
			r.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(r)
			is.NoErr(err)
			resp.Body.Close()
			return resp.StatusCode
		}
		report := scanningtest.Report(t, "hsrcpay_secret_key", live, "sk_live_notakey")

		forger := scanningtest.New(t, github.ID) // GitHub's identifier, another key
		status, _ := github.Post(t, addr, report, forger.Sign(t, report))
		is.Equal(status, http.StatusUnauthorized) // a badly signed report is refused
		status, _ = github.Post(t, addr, append([]byte(" "), report...), github.Sign(t, report))
		is.Equal(status, http.StatusUnauthorized) // and one changed after signing
		is.Equal(list(live), http.StatusOK)       // the key still works

		status, labels := github.Post(t, addr, report, github.Sign(t, report))
		is.Equal(status, http.StatusOK)                               // a signed report is taken
		is.Equal(labels, []string{"true_positive", "false_positive"}) // ours, and a made-up one
		is.Equal(list(live), http.StatusUnauthorized)                 // the leaked key is revoked
		is.Equal(list(sandbox), http.StatusOK)                        // the sandbox key is not
		is.NoErr(stop())
		is.True(strings.Contains(logs.String(), "leak report handled")) // counted in the log
		secretstest.NoLeak(t, logs.String(), live, sandbox)             // which never holds a key
	})
}

// Without -scanning-keys the route is absent.
func TestSecretScanningRouteNeedsTheFlag(t *testing.T) {
	is := is.New(t)
	getenv := func(string) string { return "" }
	addr, _ := scanningtest.Serve(t, app, []string{"-data", t.TempDir()}, getenv, &secretstest.Logs{})
	github := scanningtest.New(t, "github-key-1")
	report := scanningtest.Report(t, "hsrcpay_secret_key", "sk_live_x")
	status, _ := github.Post(t, addr, report, github.Sign(t, report))
	is.Equal(status, http.StatusNotFound)
}
