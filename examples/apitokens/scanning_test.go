package main

import (
	"encoding/json"
	"net/http"
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
// revokes the token it names.
func TestSecretScanningReports(t *testing.T) {
	servicetest.EachDatabase(t, func(t *testing.T, getenv func(string) string) {
		is := is.New(t)
		data := t.TempDir()
		var out, logs secretstest.Logs
		is.NoErr(service.Run(t.Context(), app, []string{"-data", data, "-create-owner", "acme"}, getenv, &out, &logs))
		secret := strings.TrimPrefix(strings.Split(strings.TrimSpace(out.String()), "\n")[1], "secret=")

		github := scanningtest.New(t, "github-key-1")
		addr, stop := scanningtest.Serve(t, app, []string{"-data", data, "-scanning-keys", github.KeysFile(t)}, getenv, &logs)
		// list returns the status and error code of a listing with the
		// token.
		list := func() (int, string) {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, addr+"/api_tokens", nil)
			is.NoErr(err)
			r.Header.Set("Authorization", "Bearer "+secret)
			resp, err := http.DefaultClient.Do(r)
			is.NoErr(err)
			defer resp.Body.Close()
			var body struct{ Code string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			return resp.StatusCode, body.Code
		}
		report := scanningtest.Report(t, "apitoken_live", secret)

		forger := scanningtest.New(t, github.ID) // GitHub's identifier, another key
		status, _ := github.Post(t, addr, report, forger.Sign(t, report))
		is.Equal(status, http.StatusUnauthorized) // a badly signed report is refused
		status, _ = github.Post(t, addr, report, "")
		is.Equal(status, http.StatusUnauthorized) // and so is an unsigned one
		status, _ = list()
		is.Equal(status, http.StatusOK) // the token still works

		status, labels := github.Post(t, addr, report, github.Sign(t, report))
		is.Equal(status, http.StatusOK)             // a signed report is taken
		is.Equal(labels, []string{"true_positive"}) // the token is ours
		status, code := list()
		is.Equal(status, http.StatusForbidden) // and revoked: the next request is refused,
		is.Equal(code, "invalid_api_token")    // as this API refuses every invalid token
		is.NoErr(stop())
		is.True(strings.Contains(logs.String(), "leak report handled")) // counted in the log
		secretstest.NoLeak(t, logs.String(), secret)                    // which never holds the token
	})
}

// Without -scanning-keys the route is absent.
func TestSecretScanningRouteNeedsTheFlag(t *testing.T) {
	is := is.New(t)
	getenv := func(string) string { return "" }
	addr, _ := scanningtest.Serve(t, app, []string{"-data", t.TempDir()}, getenv, &secretstest.Logs{})
	github := scanningtest.New(t, "github-key-1")
	report := scanningtest.Report(t, "apitoken_live", "apitoken_live_x")
	status, _ := github.Post(t, addr, report, github.Sign(t, report))
	is.Equal(status, http.StatusNotFound)
}
