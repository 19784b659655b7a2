// Command durable shows secrets surviving a restart. It keeps them in a
// SQLite file under the directory given by -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set, and seals their values under a
// key-encryption key that it creates in that directory on its first run.
//
// Run it twice with the same directory:
//
//	go run ./examples/durable -data /tmp/rotor-demo
//	go run ./examples/durable -data /tmp/rotor-demo
//
// The first run creates a secret for the owner and hands its key to a
// pretend client, which saves it in the directory. Each later run has the
// client present the key it saved: the service, started afresh, finds the
// secret in the database and accepts the key; then it regenerates the
// secret with no grace window, the client saves the new key, and the old
// one is refused from then on.
//
// It picks the database when it starts, so it imports both
// store/sqlstore/sqlite and store/sqlstore/postgres and links both
// drivers; a program that keeps its secrets in one imports only that
// one's package, and links only its driver.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

func main() {
	data := flag.String("data", "rotor-data", "directory for the database file, the key-encryption key and the client's key")
	owner := flag.String("owner", "acme", "the owner whose secret to keep")
	flag.Parse()
	if err := run(context.Background(), *data, *owner); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir, owner string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, where, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	ring, err := keyring(dir)
	if err != nil {
		return err
	}
	r, err := rotation.New(st, &rotation.Options{Keyring: ring})
	if err != nil {
		return err
	}
	fmt.Println("secrets are kept in", where)

	// The client's side: a real service never keeps a key it handed out.
	// This pretend client keeps its own in the directory.
	clientKey := filepath.Join(dir, "client.key")
	saved, err := os.ReadFile(clientKey)
	if errors.Is(err, fs.ErrNotExist) {
		iss, err := r.Create(ctx, owner, rotation.Spec{Name: "production", HMAC: true})
		if err != nil {
			return err
		}
		fmt.Printf("first run: created %s for %s; its key is shown once, and the client saves it\n", iss.ID, owner)
		return os.WriteFile(clientKey, []byte(iss.Value.Reveal()), 0o600)
	}
	if err != nil {
		return err
	}
	key := strings.TrimSpace(string(saved))

	list, err := r.List(ctx, owner)
	if err != nil {
		return err
	}
	fmt.Printf("restarted: %s has %d secret(s) in the database\n", owner, len(list))
	for _, s := range list {
		fmt.Printf("  %s  %-8s  created %s  key ends …%s\n", s.ID, s.Status, s.CreatedAt.Format(time.RFC3339), s.Current.Hint)
	}

	p, err := r.Authenticate(ctx, key, rotation.Request{})
	if err != nil {
		return fmt.Errorf("the key saved by the last run was refused: %w", err)
	}
	fmt.Printf("the client's key from the last run authenticates as %s / %s\n", p.Owner, p.Secret.ID)
	keys, err := r.SigningKeys(ctx, owner)
	if err != nil {
		return err
	}
	fmt.Printf("its sealed value opens under the saved key-encryption key: %d signing key(s)\n", len(keys))

	res, err := r.Regenerate(ctx, owner, p.Secret.ID, 0)
	if err != nil {
		return err
	}
	if err := os.WriteFile(clientKey, []byte(res.Value.Reveal()), 0o600); err != nil {
		return err
	}
	fmt.Printf("regenerated %s with no grace window: its new key ends …%s and replaces …%s, and the client saves it\n", res.ID, res.Current.Hint, res.Old.Hint)
	_, err = r.Authenticate(ctx, key, rotation.Request{})
	var refused *rotation.AuthError
	if !errors.As(err, &refused) {
		return fmt.Errorf("the old key was not refused: %v", err)
	}
	fmt.Printf("the old key is refused from now on: %v\n", refused.Err)
	// A program that runs no Run writes the uses it made before it exits.
	return r.Flush(ctx)
}

// openStore opens PostgreSQL when ROTOR_POSTGRES_DSN is set, and the
// SQLite file dir/rotor.db otherwise. It says where, without the
// connection string, which may hold a password.
func openStore(ctx context.Context, dir string) (*sqlstore.Store, string, error) {
	if dsn := os.Getenv("ROTOR_POSTGRES_DSN"); dsn != "" {
		st, err := postgres.Open(ctx, dsn)
		return st, "PostgreSQL (ROTOR_POSTGRES_DSN)", err
	}
	path := filepath.Join(dir, "rotor.db")
	st, err := sqlite.Open(ctx, path)
	return st, "SQLite file " + path, err
}

// keyring reads the key-encryption key from dir/kek, creating it on the
// first run. Lose it and the sealed values cannot be opened: keep it
// apart from the database, and backed up.
func keyring(dir string) (*secrets.Keyring, error) {
	const id = "kek-1"
	path := filepath.Join(dir, "kek")
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		text, err = createKEK(dir, path, id)
	}
	if err != nil {
		return nil, err
	}
	kek, err := secrets.ParseKEK(id, string(text)) // which ignores the newline
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return secrets.NewKeyring(kek)
}

// createKEK writes a new key to a temporary file, readable by this user
// only, and links it into place, which fails if path exists: a key that
// sealed values depend on is never overwritten, and a run starting at the
// same moment never reads half a key. It returns the text at path, this
// run's key or that of a run that won the race.
func createKEK(dir, path, id string) ([]byte, error) {
	kek, err := secrets.GenerateKEK(id)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".kek-*") // mode 0600
	if err != nil {
		return nil, err
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
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}
