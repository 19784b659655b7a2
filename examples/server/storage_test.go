package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
)

// sealsForOther reports whether a value sealed by one keyring opens with
// the other: whether they hold the same key.
func sealsForOther(t *testing.T, a, b *secrets.Keyring) bool {
	t.Helper()
	v := secrets.NewValue("sk_live_example_value_for_sealing")
	sealed, err := a.Seal("sec_1", v)
	is.New(t).NoErr(err) // sealing works
	opened, err := b.Open("sec_1", sealed)
	return err == nil && opened.Equal(v)
}

func TestKeyringCreatedOnFirstStart(t *testing.T) {
	is := is.New(t)
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, err := openKeyring(dir, "")
	is.NoErr(err) // the key is created
	info, err := os.Stat(filepath.Join(dir, "kek"))
	is.NoErr(err) // in the data directory
	if runtime.GOOS != "windows" {
		is.Equal(info.Mode().Perm(), os.FileMode(0o600)) // readable by its owner only
	}
	again, err := openKeyring(dir, "")
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
		wg.Go(func() { rings[i], errs[i] = openKeyring(dir, "") })
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

	fromEnv, err := openKeyring(dir, text)
	is.NoErr(err) // ROTOR_KEK is read
	parsed, err := secrets.ParseKEK(kekID, text)
	is.NoErr(err)
	direct, err := secrets.NewKeyring(parsed)
	is.NoErr(err)
	is.True(sealsForOther(t, fromEnv, direct)) // it is the key given
	_, err = os.Stat(filepath.Join(dir, "kek"))
	is.True(os.IsNotExist(err)) // and no file was written

	bad := strings.Repeat("A", 40) // base64, but the wrong size
	_, err = openKeyring(dir, bad)
	is.True(err != nil)                                 // a bad key is refused
	is.True(strings.Contains(err.Error(), "ROTOR_KEK")) // naming where it came from
	is.True(!strings.Contains(err.Error(), bad))        // never quoting it
}
