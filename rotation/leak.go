package rotation

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// LeakPolicy says what [Rotator.ReportLeak] does with a secret whose value
// was seen in public. The zero value is [LeakRevoke].
type LeakPolicy int

const (
	// LeakRevoke ends the leaked value at once: a current value's secret
	// is revoked, a previous value's grace window is ended. The default.
	LeakRevoke LeakPolicy = iota
	// LeakReportOnly changes nothing and only reports, for a service that
	// wants a person to decide. The leaked value keeps working.
	LeakReportOnly
)

// String returns "revoke" or "report only".
func (p LeakPolicy) String() string {
	switch p {
	case LeakRevoke:
		return "revoke"
	case LeakReportOnly:
		return "report only"
	}
	return "unknown"
}

// LeakAction is what [Rotator.ReportLeak] did about a leaked value.
type LeakAction int

const (
	// LeakNothing: nothing was done, because no secret holds the value
	// (a false positive), or because the value had stopped working
	// already: its secret revoked or expired, or its grace window over.
	LeakNothing LeakAction = iota
	// LeakKept: the value works still, as LeakReportOnly asks.
	LeakKept
	// LeakRevoked: the value was its secret's current one, and the secret
	// was revoked.
	LeakRevoked
	// LeakGraceEnded: the value was a previous one in its grace window,
	// and the window was ended; the secret and its current value work on.
	LeakGraceEnded
)

// String returns "nothing", "kept", "revoked" or "grace ended".
func (a LeakAction) String() string {
	switch a {
	case LeakNothing:
		return "nothing"
	case LeakKept:
		return "kept"
	case LeakRevoked:
		return "revoked"
	case LeakGraceEnded:
		return "grace ended"
	}
	return "unknown"
}

// Leaked is what [Rotator.ReportLeak] found and did. It holds ids and a
// hint, never the key.
type Leaked struct {
	// Found reports whether a secret holds the reported key: a true
	// positive, whether or not the key still worked. When false, the
	// other fields are zero.
	Found bool
	// Owner and SecretID say whose secret it is.
	Owner    string
	SecretID string
	// Hint is the leaked value's hint, its last four characters.
	Hint string
	// Previous reports whether the leaked value was a previous one, in
	// or past its grace window, rather than the secret's current value.
	Previous bool
	// Action is what was done.
	Action LeakAction
}

// Bounds on what a report says of where it saw a key: they reach events
// and logs, so a report cannot flood them.
const (
	maxLeakURL    = 2048
	maxLeakSource = 64
)

// ReportLeak handles a report that key was seen in public, such as one from
// a secret scanner: where says where (its URL and Source; Revoked is
// ignored), and policy what to do.
//
// The key is checked offline first, as [Rotator.Authenticate] checks it: a
// key of no format, with a bad checksum, or a Standard Webhooks secret
// (which has no checksum) is a false positive decided without reaching
// the store. A well-formed key is then looked up as Authenticate looks it
// up, in the cache and then the store, within the same bound on lookups of
// unknown keys: beyond it ReportLeak returns an error matching
// ErrOverloaded, and the report is to be retried. A key no secret holds
// is a false positive.
//
// A key found is a true positive, and is handled by policy. Under
// LeakRevoke, a current value's secret is revoked, as [Rotator.Revoke]
// does, also when it is the designated secret that signs the owner's
// webhooks: a value in public signs for anyone, so the designation moves
// to another secret that can sign, if the owner has one. A previous value
// still in its grace window has its window ended now, and nothing else:
// the customer who leaked it has moved on to the current value, which
// keeps working, and revoking the secret would break the very client that
// rotated away from the leak. Under LeakReportOnly nothing changes. A key
// whose secret is revoked or expired, or whose window is over, is still a
// true positive, with nothing done.
//
// Every true positive emits an [EventLeaked] with the secret's id, its
// current value's hint, the leaked previous value's hint as OldHint, and
// a [Leak] saying where it was seen and whether it was ended; a window
// ended is listed in the event's CutShort, and told of by an
// [EventGraceEnded] too, as every window that ends is. A revocation also
// emits [EventRevoked], and [EventDesignated] if the designation moved.
//
// A value rotor no longer keeps cannot be told from one it never issued:
// a previous value whose window has ended is dropped at the next save of
// its owner, as are the previous values of a revoked secret, so a report
// of one, such as the second report of a value whose window the first
// ended, is a false positive.
//
// The key never reaches an error, an event or a log: where.URL and
// where.Source have any copy of it replaced by [secrets.Redacted], and are
// cut to 2048 and 64 bytes.
func (r *Rotator) ReportLeak(ctx context.Context, key string, where Leak, policy LeakPolicy) (Leaked, error) {
	if policy != LeakRevoke && policy != LeakReportOnly {
		return Leaked{}, &ValidationError{Field: "policy", Reason: "must be LeakRevoke or LeakReportOnly"}
	}
	if _, err := secrets.ParseKey(key); err != nil {
		return Leaked{}, nil // not a key of any format: a false positive, known offline
	}
	if err := ctx.Err(); err != nil {
		return Leaked{}, err
	}
	d := r.set.digester.Digest(key)
	now := r.set.now()
	f, err := r.find(ctx, d, now, r.lookup(d, now))
	switch {
	case err == errOverloaded:
		return Leaked{}, errLeakOverloaded
	case isUnknown(err):
		return Leaked{}, nil
	case err != nil:
		return Leaked{}, err
	}
	rec := &f.rec
	match := matchingValue(rec, d) // as Authenticate checks it
	if match == nil {
		return Leaked{}, nil
	}
	seen := Leak{URL: clean(where.URL, key, maxLeakURL), Source: clean(where.Source, key, maxLeakSource)}
	out := Leaked{Found: true, Owner: f.owner, SecretID: rec.ID, Hint: match.Hint, Previous: match != &rec.Current}
	e := Event{Kind: EventLeaked, Owner: f.owner, SecretID: rec.ID, Hint: rec.Current.Hint, At: r.set.now()}
	if out.Previous {
		e.OldHint, e.OldExpiresAt = match.Hint, match.ExpiresAt
	}
	if ended(rec, match, e.At) {
		e.Leak = seen
		r.emit(ctx, e)
		return out, nil
	}
	if policy == LeakReportOnly {
		out.Action = LeakKept
		e.Leak = seen
		r.emit(ctx, e)
		return out, nil
	}
	return r.endLeaked(ctx, out, match.ID, rec.Current.Hint, seen)
}

// endLeaked ends the leaked value valueID of the secret out names, as
// [Rotator.ReportLeak] says, and emits the events. hint is the current
// value's, as found.
func (r *Rotator) endLeaked(ctx context.Context, out Leaked, valueID, hint string, seen Leak) (Leaked, error) {
	id := out.SecretID
	var (
		action LeakAction
		cut    []Cut
	)
	res, err := r.update(ctx, out.Owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			action, cut = LeakNothing, nil
			i := ks.Find(id)
			if i < 0 {
				return errUnchanged // deleted since it was found: nothing left to end
			}
			rec := &ks.Keys[i]
			v := rec.Value(valueID)
			if v == nil || ended(rec, v, now) {
				return errUnchanged
			}
			hint = rec.Current.Hint
			rec.UpdatedAt = now
			if v == &rec.Current {
				rec.RevokedAt = now
				action = LeakRevoked
				return nil
			}
			cut = []Cut{{SecretID: id, Value: valueInfo(v)}}
			v.ExpiresAt = now // prune drops it before the save
			action = LeakGraceEnded
			return nil
		},
		landed: func(ks *store.Keyset) bool {
			i := ks.Find(id)
			return i < 0 || !ks.Keys[i].RevokedAt.IsZero() || ks.Keys[i].Value(valueID) == nil
		},
	})
	if err := settle(err); err != nil {
		return Leaked{}, err
	}
	out.Action = action
	at := res.now
	if res.ks.Owner == "" { // unchanged: the value had ended by the time of the change
		at = r.set.now()
	}
	seen.Revoked = action != LeakNothing
	e := Event{Kind: EventLeaked, Owner: out.Owner, SecretID: id, Hint: hint, At: at, Leak: seen, CutShort: cut}
	if out.Previous {
		e.OldHint = out.Hint
		if len(cut) > 0 {
			e.OldExpiresAt = at
		}
	}
	r.emit(ctx, e)
	if action == LeakRevoked {
		r.emit(ctx, Event{Kind: EventRevoked, Owner: out.Owner, SecretID: id, Hint: hint, At: at})
	}
	if res.ks.Owner != "" {
		r.emitDesignation(ctx, res)
		r.emitNotices(ctx, res) // the window ended, among what else was due
	}
	return out, nil
}

// ended reports whether the value v of rec had stopped working at now.
func ended(rec *store.Record, v *store.Value, now time.Time) bool {
	if !rec.ValidAt(now) {
		return true
	}
	return v != &rec.Current && !now.Before(v.ExpiresAt)
}

// isUnknown reports whether err is find's refusal of a key no keyset
// holds.
func isUnknown(err error) bool {
	ae, ok := err.(*AuthError)
	return ok && ae.Err == ErrInvalidKey
}

// errLeakOverloaded is ReportLeak's ErrOverloaded, made once.
var errLeakOverloaded = fmt.Errorf("rotation: report leak: %w; retry later", ErrOverloaded)

// clean returns s with every copy of key replaced, cut to at most max
// bytes of valid UTF-8.
func clean(s, key string, max int) string {
	s = strings.ReplaceAll(s, key, secrets.Redacted)
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1] // a rune cut in two
	}
	return s
}
