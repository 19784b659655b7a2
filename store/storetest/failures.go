package storetest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

func testCancelledContext(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		call func(ctx context.Context, s store.Store) error
	}{
		{
			name: "Load",
			call: func(ctx context.Context, s store.Store) error {
				_, err := s.Load(ctx, "acme")
				return err
			},
		},
		{
			name: "SaveNewOwner",
			call: func(ctx context.Context, s store.Store) error {
				return s.Save(ctx, keyset("globex", 0, key("g1")))
			},
		},
		{
			name: "SaveExistingOwner",
			call: func(ctx context.Context, s store.Store) error {
				return s.Save(ctx, keyset("acme", 1, key("a1"), key("a2")))
			},
		},
		{
			name: "Lookup",
			call: func(ctx context.Context, s store.Store) error {
				_, err := s.Lookup(ctx, digest("a1"))
				return err
			},
		},
		{
			name: "RecordUses",
			call: func(ctx context.Context, s store.Store) error {
				return s.RecordUses(ctx, []store.Use{use("acme", "a1", "a1.v0", time.Hour, ipv4)})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := newStore(t)
			save(t, s, keyset("acme", 0, key("a1")))
			around := keyset("globex", 0, key("a2"), key("g1"))
			before := observeAround(t, s, around, keyset("acme", 0, key("a1")))

			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := tt.call(ctx, s)
			is.True(errors.Is(err, context.Canceled)) // a cancelled context stops the call and shows through the error

			checkUnchanged(t, before, observeAround(t, s, around, keyset("acme", 0, key("a1"))))
		})
	}
}

func testErrorsOmitDigests(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	save(t, s, keyset("globex", 0, key("g1")))
	tests := []struct {
		name string
		d    secrets.Digest
		call func(ctx context.Context) error
	}{
		{
			name: "LookupNotFound",
			d:    digest("nobody"),
			call: func(ctx context.Context) error {
				_, err := s.Lookup(ctx, digest("nobody"))
				return err
			},
		},
		{
			name: "DuplicateAcrossOwners",
			d:    digest("g1"),
			call: func(ctx context.Context) error {
				return s.Save(ctx, keyset("acme", 0, withDigest(key("a1"), "g1")))
			},
		},
		{
			name: "DuplicateInKeyset",
			d:    digest("a1"),
			call: func(ctx context.Context) error {
				return s.Save(ctx, keyset("acme", 0, key("a1"), withDigest(key("a2"), "a1")))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := tt.call(t.Context())
			is.True(err != nil) // the call fails
			msg := err.Error()
			for _, enc := range []string{
				hex.EncodeToString(tt.d[:]),
				hex.EncodeToString(tt.d[:4]),
				base64.StdEncoding.EncodeToString(tt.d[:]),
				base64.RawURLEncoding.EncodeToString(tt.d[:]),
				tt.d.String(),
			} {
				if strings.Contains(strings.ToLower(msg), strings.ToLower(enc)) {
					t.Errorf("error %q shows the digest as %q; errors never show a digest", msg, enc)
				}
			}
		})
	}
}

// testOpErrors checks that every error is one *store.OpError naming the
// operation and the owner around its cause, as the contract says.
func testOpErrors(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Save(ctx, keyset("acme", 0, key("k1"))); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, loadErr := s.Load(ctx, "globex")
	saveErr := s.Save(ctx, keyset("acme", 0))
	dupErr := s.Save(ctx, keyset("globex", 0, key("k1")))
	zero := key("g1")
	zero.Current.Digest = secrets.Digest{}
	invalidErr := s.Save(ctx, keyset("globex", 0, zero))
	_, lookupErr := s.Lookup(ctx, digest("never saved"))
	usesErr := s.RecordUses(cancelled, []store.Use{use("acme", "k1", "k1.v0", 0, ipv4)})

	tests := []struct {
		name  string
		err   error
		op    string
		owner string
		cause error
	}{
		{"Load", loadErr, "load", "globex", store.ErrNotFound},
		{"SaveConflict", saveErr, "save", "acme", store.ErrConflict},
		{"SaveDuplicate", dupErr, "save", "globex", store.ErrDuplicate},
		{"SaveInvalid", invalidErr, "save", "globex", store.ErrInvalid},
		{"Lookup", lookupErr, "lookup", "", store.ErrNotFound},
		{"RecordUses", usesErr, "record uses", "", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var oe *store.OpError
			is.True(errors.As(tt.err, &oe))      // every error is an *OpError
			is.Equal(oe.Op, tt.op)               // naming the operation
			is.Equal(oe.Owner, tt.owner)         // and the owner
			is.True(errors.Is(oe.Err, tt.cause)) // around the cause
			var inner *store.OpError
			is.True(!errors.As(oe.Err, &inner)) // wrapped once
		})
	}
}
