package rotation_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// hmacMaterial returns what an HMAC-SHA256 key leaves in memory once
// prepared, from any of which the key follows: its inner and outer pads
// (RFC 2104) and SHA-256's state after absorbing each, as the bytes of its
// eight words in both byte orders.
func hmacMaterial(t *testing.T, key string) []string {
	t.Helper()
	k := []byte(key)
	if len(k) > sha256.BlockSize {
		sum := sha256.Sum256(k)
		k = sum[:]
	}
	var out []string
	for _, x := range []byte{0x36, 0x5c} {
		pad := make([]byte, sha256.BlockSize)
		copy(pad, k)
		for i := range pad {
			pad[i] ^= x
		}
		out = append(out, string(pad[:len(k)]))
		h := sha256.New()
		h.Write(pad)
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		be := state[4 : 4+32] // after the "sha\x03" magic: the eight words, big-endian
		le := make([]byte, len(be))
		for i := range le {
			le[i] = be[i/4*4+3-i%4]
		}
		out = append(out, string(be), string(le))
	}
	return out
}

// window is the length of the pieces noLeak indexes.
const window = 24

// noLeak is secretstest.NoLeak over many secrets and megabytes of output,
// in linear time: one pass over out finds the secrets that have a form
// (secretstest.Forms) there, or whose forms begin there, and NoLeak then
// judges and reports those. Every form at least window bytes long is
// found by its first window bytes; shorter ones are looked for whole. So
// it passes exactly when NoLeak over all the secrets would, only faster.
func noLeak(t testing.TB, out string, secrets ...string) {
	t.Helper()
	byPrefix := map[string][]int{}
	type short struct {
		form   string
		secret int
	}
	var shorts []short
	for i, s := range secrets {
		for _, form := range secretstest.Forms(s) {
			if len(form) < window {
				shorts = append(shorts, short{form, i})
				continue
			}
			byPrefix[form[:window]] = append(byPrefix[form[:window]], i)
		}
	}
	suspect := map[int]bool{}
	for j := 0; j+window <= len(out); j++ {
		for _, i := range byPrefix[out[j:j+window]] {
			suspect[i] = true
		}
	}
	for _, s := range shorts {
		if !suspect[s.secret] && strings.Contains(out, s.form) {
			suspect[s.secret] = true
		}
	}
	var suspects []string
	for i := range suspect {
		suspects = append(suspects, secrets[i])
	}
	secretstest.NoLeak(t, out, suspects...)
}

// service stands for a user's struct that holds a Rotator and its
// options, in exported and unexported fields.
type service struct {
	Rotator *rotation.Rotator
	Options rotation.Options
	rotator *rotation.Rotator
	opts    rotation.Options
	last    *rotation.Issued
}

// TestRedaction renders every exported type of rotation that holds or
// follows from secret material, and structs holding them, through every
// printer a program has (secretstest.Outputs: fmt with every verb, slog,
// the encoders, go-cmp, a reflection walker), and looks for every secret
// in every shape: the keys handed out, the pepper, the key-encryption key,
// and the HMAC pads and prepared states of the keys that sign.
func TestRedaction(t *testing.T) {
	ctx := t.Context()
	kek, err := secrets.GenerateKEK("kek-redaction")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	pepper := secrets.NewValue("a server-side pepper of 32 bytes")
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events []rotation.Event
	clock := rotationtest.NewClock(t0)
	flaky := &flakyStore{Store: memstore.New()}
	opts := rotation.Options{
		Keyring: ring, Pepper: pepper, Now: clock.Now, Logger: logger,
		Policy: rotation.Policy{MaxInGrace: 2},
		Observer: func(ctx context.Context, e rotation.Event) {
			events = append(events, e)
			rotation.LogEvents(logger)(ctx, e)
		},
	}
	r, err := rotation.New(flaky, &opts)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	webhook, err := r.Create(ctx, "acme", rotation.Spec{Format: secrets.Webhook})
	must(err)
	signer, err := r.Create(ctx, "acme", rotation.Spec{HMAC: true, Name: "signs"})
	must(err)
	plain, err := r.Create(ctx, "acme", rotation.Spec{Name: "plain"})
	must(err)
	flaky.arm(errNetwork, true, false) // a lost answer, logged with its error
	reg, err := r.Regenerate(ctx, "acme", signer.ID, time.Minute)
	must(err)
	regWebhook, err := r.Regenerate(ctx, "acme", webhook.ID, time.Minute)
	must(err)
	regPlain, err := r.Regenerate(ctx, "acme", plain.ID, time.Minute) // cuts a window
	must(err)
	upd, err := r.Update(ctx, "acme", plain.ID, func(a *rotation.Attributes) { a.Name = "renamed" })
	must(err)
	keys, err := r.VerifyingKeys(ctx, "acme") // builds and caches the prepared HMAC keys
	must(err)
	msg, err := hmacsign.NewSigner(r, &hmacsign.SignerOptions{Now: clock.Now}).Sign(ctx, "acme", "msg_1", []byte("{}"))
	must(err)
	p, err := r.Authenticate(ctx, reg.Value.Reveal(), rotation.Request{}) // a use left pending
	must(err)
	prev, err := r.Authenticate(ctx, signer.Value.Reveal(), rotation.Request{})
	must(err)
	list, err := r.List(ctx, "acme")
	must(err)

	key := reg.Value.Reveal()
	near := key[:len(key)-1] + string(key[len(key)-1]^1) // a typo of a real key
	_, errChecksum := r.Authenticate(ctx, near, rotation.Request{})
	_, errScope := r.Authenticate(ctx, key, rotation.Request{Scope: "admin"})
	_, errLimit := r.Create(ctx, "acme", rotation.Spec{HMAC: true})
	must(r.Revoke(ctx, "acme", plain.ID))
	_, errRevoked := r.Authenticate(ctx, regPlain.Value.Reveal(), rotation.Request{})
	// Callers paste keys where ids belong; no refusal may repeat them.
	_, errGet := r.Get(ctx, "acme", key)
	errDelete := r.Delete(ctx, "acme", key)
	_, errRegen := r.Regenerate(ctx, "acme", key, 0)
	_, errRegenIf := r.RegenerateIf(ctx, "acme", signer.ID, key, 0)
	_, errUpdate := r.Update(ctx, "acme", key, func(*rotation.Attributes) {})
	errSigning := r.SetSigning(ctx, "acme", key)
	errDesignated := r.Delete(ctx, "acme", webhook.ID)
	_, errGrace := r.Regenerate(ctx, "acme", signer.ID, -time.Second)
	_, errName := r.Create(ctx, "other", rotation.Spec{Name: "bad\x00"})
	noRing, err := rotation.New(flaky, &rotation.Options{Pepper: pepper, Now: clock.Now})
	must(err)
	_, errOption := noRing.Create(ctx, "acme", rotation.Spec{HMAC: true})
	_, errKeys := noRing.VerifyingKeys(ctx, "acme")
	_, errNew := rotation.New(memstore.New(), &rotation.Options{Keyring: ring, Pepper: pepper, Cache: rotation.CacheOptions{MaxAge: -1}})
	// Leak reports: of a previous value (its window ended), of a current
	// one kept, and of a typo; each says where it was seen with the key
	// itself in the URL, which must not come back out.
	prevKey := signer.Value.Reveal()
	leakedPrev, err := r.ReportLeak(ctx, prevKey, rotation.Leak{URL: "https://example.com/?k=" + prevKey, Source: prevKey}, rotation.LeakRevoke)
	must(err)
	leakedKept, err := r.ReportLeak(ctx, key, rotation.Leak{URL: "https://example.com/" + key}, rotation.LeakReportOnly)
	must(err)
	leakedNot, err := r.ReportLeak(ctx, near, rotation.Leak{URL: near}, rotation.LeakRevoke)
	must(err)
	_, errLeakPolicy := r.ReportLeak(ctx, key, rotation.Leak{}, rotation.LeakPolicy(9))
	if leakedPrev.Action != rotation.LeakGraceEnded || leakedKept.Action != rotation.LeakKept || leakedNot.Found {
		t.Fatalf("leak reports did %v, %v and %v", leakedPrev.Action, leakedKept.Action, leakedNot.Found)
	}
	flaky.arm(errNetwork, true, true) // a lost answer that cannot be read back: logged
	_, errLost := r.Update(ctx, "acme", signer.ID, func(a *rotation.Attributes) { a.Name = "again" })
	must(r.Flush(ctx))
	conflicting, err := rotation.New(&conflictStore{Store: flaky.Store}, &opts)
	must(err)
	_, errConflict := conflicting.Regenerate(ctx, "acme", signer.ID, 0)

	values := []*rotation.Issued{webhook, signer, plain, &reg.Issued, &regWebhook.Issued, &regPlain.Issued}
	var secretTexts []string
	for _, iss := range values {
		v := iss.Value.Reveal()
		secretTexts = append(secretTexts, v)
		hk, err := secrets.HMACKey(iss.Value)
		must(err)
		if iss.HMAC {
			secretTexts = append(secretTexts, hmacMaterial(t, hk.Reveal())...)
			if hk.Reveal() != v {
				secretTexts = append(secretTexts, hk.Reveal())
			}
		}
	}
	secretTexts = append(secretTexts, pepper.Reveal(), kek.Key.Reveal(), kek.Text().Reveal())
	secretTexts = append(secretTexts, hmacMaterial(t, pepper.Reveal())...)

	subjects := map[string]any{
		"*Rotator":                      r,
		"Rotator without a keyring":     noRing,
		"service":                       &service{Rotator: r, Options: opts, rotator: r, opts: opts, last: &reg.Issued},
		"Options":                       opts,
		"*Issued":                       webhook,
		"Issued":                        *signer,
		"*Regenerated":                  reg,
		"Regenerated":                   *regWebhook,
		"Regenerated with cuts":         *regPlain,
		"Secret":                        upd,
		"[]Secret":                      list,
		"Principal":                     p,
		"Principal of a previous value": prev,
		"[]Event":                       events,
		"Cut":                           regPlain.CutShort,
		"VerifyingKeys":                 keys,
		"Message":                       msg,
		"AuthError, checksum":           errChecksum,
		"AuthError, scope":              errScope,
		"AuthError, revoked":            errRevoked,
		"SecretError, get":              errGet,
		"SecretError, delete":           errDelete,
		"SecretError, regenerate":       errRegen,
		"SecretError, stale":            errRegenIf,
		"SecretError, update":           errUpdate,
		"SecretError, designate":        errSigning,
		"SecretError, designated":       errDesignated,
		"LimitError":                    errLimit,
		"ValidationError, grace":        errGrace,
		"ValidationError, name":         errName,
		"OptionError, keyring":          errOption,
		"OptionError, keys":             errKeys,
		"OptionError, New":              errNew,
		"conflict error":                errConflict,
		"lost answer":                   errLost,
		"stored keyset":                 mustLoad(t, flaky.Store, "acme"),
		"Leaked, previous value":        leakedPrev,
		"Leaked, kept":                  leakedKept,
		"Leaked, false positive":        leakedNot,
		"ValidationError, leak policy":  errLeakPolicy,
	}
	for name, x := range subjects {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each subject is read only; NoLeak over every printer is slow
			if x == nil {
				t.Fatal("the subject is nil: the call meant to make it succeeded")
			}
			noLeak(t, secretstest.Outputs(x), secretTexts...) // no secret in any output
		})
	}
	t.Run("logs", func(t *testing.T) {
		if logs.Len() == 0 {
			t.Fatal("nothing was logged")
		}
		noLeak(t, logs.String(), secretTexts...) // diagnostics and events log no secret
	})
	t.Run("diffs", func(t *testing.T) {
		type holds struct {
			Issued *rotation.Issued
			issued rotation.Issued
		}
		diffs := map[string]string{
			"Issued":         diff(*webhook, *signer),
			"*Issued":        diff(webhook, signer),
			"Regenerated":    diff(reg, regWebhook),
			"struct":         diff(holds{webhook, *signer}, holds{signer, *webhook}, cmp.AllowUnexported(holds{})),
			"same but Value": diff(*signer, rotation.Issued{Secret: signer.Secret, Value: reg.Value}),
		}
		for name, d := range diffs {
			t.Run(name, func(t *testing.T) {
				if d == "" {
					t.Fatal("different results compare equal")
				}
				noLeak(t, d, secretTexts...) // a failed comparison prints no value
			})
		}
	})
}

// mustLoad returns the owner's keyset as st stores it.
func mustLoad(t *testing.T, st store.Store, owner string) store.Keyset {
	t.Helper()
	ks, err := st.Load(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// recorder is a testing.TB that notes a Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Fatalf(string, ...any) { r.failed = true }

// noLeak must fail wherever NoLeak would: on every form of a secret.
func TestNoLeakFindsEveryForm(t *testing.T) {
	key, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	other := "an unrelated secret, long enough to be indexed"
	forms := secretstest.Forms(key.Reveal())
	for i, form := range forms {
		rec := &recorder{TB: t}
		noLeak(rec, "before "+form+" after", other, key.Reveal())
		if !rec.failed {
			t.Errorf("form %d of %d, %d bytes, was not found", i, len(forms), len(form))
		}
	}
	rec := &recorder{TB: t}
	noLeak(rec, strings.Repeat("clean output ", 1000), other, key.Reveal())
	if rec.failed {
		t.Error("clean output was reported as a leak")
	}
}
