package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// sealsForOther reports whether a value sealed by one keyring opens with
// the other: whether they hold the same key.
func sealsForOther(t *testing.T, a, b *secrets.Keyring) bool {
	t.Helper()
	v := secrets.NewValue("sk_live_example_value_for_sealing")
	// Bound to a value's id, as the Rotator seals each value of a secret.
	sealed, err := a.Seal("val_1", v)
	is.New(t).NoErr(err) // sealing works
	opened, err := b.Open("val_1", sealed)
	return err == nil && opened.Equal(v)
}

func TestKeyringCreatedOnFirstStart(t *testing.T) {
	is := is.New(t)
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, err := openKeyring(dir, "", true)
	is.NoErr(err) // the key is created
	info, err := os.Stat(filepath.Join(dir, "kek"))
	is.NoErr(err) // in the data directory
	if runtime.GOOS != "windows" {
		is.Equal(info.Mode().Perm(), os.FileMode(0o600)) // readable by its owner only
	}
	again, err := openKeyring(dir, "", true)
	is.NoErr(err)                           // the key is read back
	is.True(sealsForOther(t, first, again)) // the same key, not a new one
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 1) // no temporary file left behind
}

func TestKeyringCreatedOnceByConcurrentStarts(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	rings := make([]*secrets.Keyring, 8)
	errs := make([]error, len(rings))
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() { rings[i], errs[i] = openKeyring(dir, "", true) })
	}
	wg.Wait()
	for i := range rings {
		is.NoErr(errs[i])                             // every start succeeds
		is.True(sealsForOther(t, rings[0], rings[i])) // with the one key that won
	}
}

func TestKeyringFromEnvironment(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	kek, err := secrets.GenerateKEK("any")
	is.NoErr(err) // a key
	text := kek.Text().Reveal()

	fromEnv, err := openKeyring(dir, text, true)
	is.NoErr(err) // ROTOR_KEK is read
	parsed, err := secrets.ParseKEK(kekID, text)
	is.NoErr(err)
	direct, err := secrets.NewKeyring(parsed)
	is.NoErr(err)
	is.True(sealsForOther(t, fromEnv, direct)) // it is the key given
	_, err = os.Stat(filepath.Join(dir, "kek"))
	is.True(os.IsNotExist(err)) // and no file was written

	bad := strings.Repeat("A", 40) // base64, but the wrong size
	_, err = openKeyring(dir, bad, true)
	is.True(err != nil)                                 // a bad key is refused
	is.True(strings.Contains(err.Error(), "ROTOR_KEK")) // naming where it came from
	is.True(!strings.Contains(err.Error(), bad))        // never quoting it
}

func TestKeyringNotCreatedForSharedDatabase(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	// Port 1 refuses at once: were the database dialled before the key
	// was checked, the error would be a connection's.
	const dsn = "postgres://rotor:hunter2@127.0.0.1:1/rotor?connect_timeout=5"
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string {
		if name == sqlstoretest.EnvDSN {
			return dsn
		}
		return ""
	}
	err := run(t.Context(), []string{"-data", dir, "-addr", "127.0.0.1:0"}, getenv, &stdout, &stderr)
	is.True(errors.Is(err, errSharedKEK))               // refused, before any connection
	is.True(strings.Contains(err.Error(), "ROTOR_KEK")) // saying what to set
	is.True(strings.Contains(err.Error(), "openssl"))   // and how to make a key
	is.True(!strings.Contains(err.Error(), "hunter2"))  // never quoting the DSN
	is.Equal(stdout.String(), "")                       // nothing listened
	_, err = os.Stat(filepath.Join(dir, "kek"))
	is.True(errors.Is(err, fs.ErrNotExist)) // and no key file was made

	// A key given in ROTOR_KEK, or a kek file put in place by hand, is used.
	kek, err := secrets.GenerateKEK(kekID)
	is.NoErr(err)
	fromEnv, err := openKeyring(dir, kek.Text().Reveal(), false)
	is.NoErr(err) // ROTOR_KEK is enough
	is.NoErr(os.WriteFile(filepath.Join(dir, "kek"), []byte(kek.Text().Reveal()+"\n"), 0o600))
	fromFile, err := openKeyring(dir, "", false)
	is.NoErr(err)                                // an existing file is read
	is.True(sealsForOther(t, fromEnv, fromFile)) // the same key either way
}
