package secretstest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rotorkit/rotor/secrets"
)

// Keyring returns a keyring whose only key-encryption key, "kek-test", is
// new and random: what a test needs to create secrets that sign HMACs.
func Keyring(tb testing.TB) *secrets.Keyring {
	tb.Helper()
	kek, err := secrets.GenerateKEK("kek-test")
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		tb.Fatal(err)
	}
	return ring
}

// piece is the length of the fragments Forms includes: long enough that a
// match is no accident, short enough to catch a truncated line or dump.
const piece = 24

// Forms returns the shapes in which s could show up in output: s itself,
// its last 10 characters, and every 24-character piece of it; and hex
// (lower and upper case, with and without spaces), standard and URL
// base64, Go's quoting of it (as %q and go-cmp print strings, with \x
// escapes for bytes that are not text), and Go's dumps of its bytes (as %v
// and %#v print a []byte), each whole and as every 24-character piece.
func Forms(s string) []string {
	b := []byte(s)
	forms := []string{tail(s, 10)}
	for _, f := range []string{
		s,
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		fmt.Sprintf("% x", b),
		fmt.Sprintf("% X", b),
		base64.StdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		unquote(strconv.Quote(s)),
		unquote(strconv.QuoteToASCII(s)),
		fmt.Sprint(b),
		fmt.Sprintf("%#v", b),
	} {
		forms = append(forms, f)
		for i := 0; i+piece < len(f); i++ {
			forms = append(forms, f[i:i+piece])
		}
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// unquote strips the quotes strconv.Quote puts around a string.
func unquote(q string) string { return q[1 : len(q)-1] }

func tail(s string, n int) string { return s[len(s)-min(len(s), n):] }

// NoLeak fails t if out holds any of the [Forms] of any of the secrets.
// The failure quotes each line of out that holds one, after the name of
// the printer it came from when out is from [Outputs], with every form of
// every secret replaced by [REDACTED], so the secret does not reach the
// test's own log.
func NoLeak(t testing.TB, out string, secrets ...string) {
	t.Helper()
	var found []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range Forms(s) {
			if strings.Contains(out, form) {
				found = append(found, form)
			}
		}
	}
	if len(found) == 0 {
		return
	}
	slices.SortFunc(found, func(a, b string) int { return len(b) - len(a) }) // longest first
	redact := func(s string) string {
		for _, form := range found {
			s = strings.ReplaceAll(s, form, "[REDACTED]")
		}
		return s
	}
	var report []string
	printer := ""
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if name, ok := strings.CutPrefix(line, header); ok {
			printer = name
		}
		if !slices.ContainsFunc(found, func(f string) bool { return strings.Contains(line, f) }) {
			continue
		}
		if len(report) == maxReported {
			report = append(report, "\t…")
			break
		}
		where := ""
		if printer != "" {
			where = printer + ": "
		}
		report = append(report, fmt.Sprintf("\t%s%q", where, redact(line)))
	}
	if len(report) == 0 {
		// A form that spans lines: quote it all.
		report = append(report, fmt.Sprintf("\t%q", redact(out)))
	}
	t.Fatalf("secretstest: output holds a secret, or a form of it:\n%s", strings.Join(report, "\n"))
}

// maxReported is how many leaking lines a failure of NoLeak quotes.
const maxReported = 20

// Logs collects what a logger writes, safe for the concurrent writes of
// the handlers of a server under test, for a test to read and check with
// [NoLeak]:
//
//	var logs secretstest.Logs
//	log := slog.New(slog.NewJSONHandler(&logs, nil))
//	... // serve requests that log with log
//	secretstest.NoLeak(t, logs.String(), key)
//
// Its zero value is empty and ready to use.
type Logs struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// Write appends p to what was written.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
