package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/sqlstore"
)

// openStore opens PostgreSQL when dsn is set, and the SQLite file
// dir/rotor.db otherwise, and says where in words that never include dsn,
// which may hold a password.
func openStore(ctx context.Context, dir, dsn string) (*sqlstore.Store, string, error) {
	if dsn != "" {
		st, err := sqlstore.OpenPostgres(ctx, dsn)
		return st, "PostgreSQL (ROTOR_POSTGRES_DSN)", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "rotor.db")
	st, err := sqlstore.OpenSQLite(ctx, path)
	return st, "SQLite file " + path, err
}

// kekID names the key-encryption key in every sealed value. To rotate the
// key, a service would add a second one under a new id to the keyring and
// reseal; this example keeps one.
const kekID = "kek-1"

// openKeyring returns the keyring that seals secret values, with the
// key-encryption key given as text (ROTOR_KEK) or, when text is empty, the
// one in dir/kek. If create is set, that file is created on first start;
// if not, a missing file is [errSharedKEK]. Lose the key and no sealed
// value can be opened again: keep it apart from the database, and backed
// up.
func openKeyring(dir, text string, create bool) (*secrets.Keyring, error) {
	if text != "" {
		kek, err := secrets.ParseKEK(kekID, text)
		if err != nil {
			return nil, fmt.Errorf("ROTOR_KEK: %w", err) // the error holds neither the id nor the key
		}
		return secrets.NewKeyring(kek)
	}
	path := filepath.Join(dir, "kek")
	kek, err := readKEK(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, errSharedKEK
		}
		kek, err = createKEK(dir, path)
	}
	if err != nil {
		return nil, err
	}
	return secrets.NewKeyring(kek)
}

// errSharedKEK refuses to make a key-encryption key for a database that
// other replicas may share: each would make its own, and none could open
// the values the others sealed.
var errSharedKEK = errors.New("ROTOR_POSTGRES_DSN is set but ROTOR_KEK is not: " +
	"replicas that share a database must share one key-encryption key, so none is made here; " +
	"make one with `openssl rand -base64 32`, keep it safe, and give every replica the same ROTOR_KEK")

func readKEK(path string) (secrets.KEK, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return secrets.KEK{}, err
	}
	kek, err := secrets.ParseKEK(kekID, string(text))
	if err != nil {
		return secrets.KEK{}, fmt.Errorf("%s: %w", path, err)
	}
	return kek, nil
}

// createKEK writes a new key to path, readable by this user only. The key
// is written whole to a temporary file first and then linked into place,
// which fails if path exists: a key that sealed values depend on is never
// overwritten, and a process starting at the same moment never reads half
// a key. If another process won the race, its key is the one used.
func createKEK(dir, path string) (secrets.KEK, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return secrets.KEK{}, err
	}
	kek, err := secrets.GenerateKEK(kekID)
	if err != nil {
		return secrets.KEK{}, err
	}
	tmp, err := os.CreateTemp(dir, ".kek-*") // mode 0600
	if err != nil {
		return secrets.KEK{}, err
	}
	defer os.Remove(tmp.Name()) // once linked, path keeps the file
	_, err = tmp.WriteString(kek.Text().Reveal() + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return secrets.KEK{}, err
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return readKEK(path)
	}
	if err != nil {
		return secrets.KEK{}, err
	}
	return kek, nil
}
