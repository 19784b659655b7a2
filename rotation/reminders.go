package rotation

import (
	"time"

	"github.com/rotorkit/rotor/store"
)

// notices works out the lifecycle events due for ks at now, marks each
// in ks so that no save after this one sends it again, and sets ks.DueAt
// to the earliest instant after now at which another will be due (zero
// if none will). It runs in every change, after apply and before prune:
// prune drops the ended windows and secrets that the events tell of.
//
// The events are the caller's to send once the save holding the marks
// has succeeded. The marks are saved with the compare-and-swap, so of
// two Rotators that find one event due only the one whose save wins
// sends it: the other reads the keyset again and finds it marked.
func (r *Rotator) notices(ks *store.Keyset, now time.Time) []Event {
	var events []Event
	var due time.Time
	next := func(t time.Time) {
		if due.IsZero() || t.Before(due) {
			due = t
		}
	}
	for i := range ks.Keys {
		k := &ks.Keys[i]
		events = r.graceNotices(events, ks.Owner, k, now, next)
		if e, ok := r.expiryNotice(ks.Owner, k, now, next); ok {
			events = append(events, e)
		}
	}
	ks.DueAt = ceilMicro(due)
	return events
}

// expiryNotice returns the expiry event of k due at now, if there is
// one, marking it, and passes next the instant of the one after.
//
// The marks say that the reminders up to RemindedAt were sent for the
// expiry RemindedFor: a lead whose instant is after RemindedAt is still
// to come, and a changed ExpiresAt finds no marks of its own. Of several
// leads missed (no change, no sweep) only the latest, the shortest lead,
// is sent. A revoked secret is told of no more.
func (r *Rotator) expiryNotice(owner string, k *store.Record, now time.Time, next func(time.Time)) (Event, bool) {
	exp := k.ExpiresAt
	if exp.IsZero() || !k.RevokedAt.IsZero() {
		return Event{}, false
	}
	var sent time.Time // reminders up to this instant were sent
	if k.RemindedFor.Equal(exp) {
		sent = k.RemindedAt
	}
	e := Event{Owner: owner, SecretID: k.ID, Hint: k.Current.Hint, At: now, Name: k.Name, ExpiresAt: exp}
	if !now.Before(exp) {
		if !sent.Before(exp) {
			return Event{}, false
		}
		e.Kind = EventExpired
		k.RemindedFor, k.RemindedAt = exp, now
		return e, true
	}
	next(exp) // EventExpired
	after := now
	if sent.After(after) {
		after = sent // marked by a Rotator whose clock runs ahead
	}
	found := false
	for _, lead := range r.set.reminders.leads { // shortest first
		at := exp.Add(-lead)
		switch {
		case at.After(after):
			next(at)
		case !found && at.After(sent):
			e.Kind, e.Lead, found = EventExpiringSoon, lead, true
		default:
			found = true // the shortest lead reached was sent: so were the longer ones
		}
	}
	if e.Kind == 0 {
		return Event{}, false
	}
	k.RemindedFor, k.RemindedAt = exp, now
	return e, true
}

// graceNotices appends to events those of k's previous values due at
// now, marking each, and passes next the instants of those to come.
//
// EventGraceEndingSoon is marked by the value's RemindedAt. EventGraceEnded
// needs no mark: the save that sends it is the one whose prune removes
// the value, so no later read holds it. A window ended early by
// [Rotator.Regenerate] (Regenerated.CutShort) ends like any other. A
// value whose window outlasted its secret (revoked or expired) dies with
// it and is not told of: EventRevoked or EventExpired is.
func (r *Rotator) graceNotices(events []Event, owner string, k *store.Record, now time.Time, next func(time.Time)) []Event {
	end := keyEnd(k)
	for j := range k.Previous {
		p := &k.Previous[j]
		if !end.IsZero() && !p.ExpiresAt.Before(end) && !now.Before(end) {
			continue // dies with its secret
		}
		lead := r.graceLead(k, j)
		e := Event{
			Owner: owner, SecretID: k.ID, Hint: k.Current.Hint, At: now, Name: k.Name,
			OldHint: p.Hint, OldExpiresAt: p.ExpiresAt,
		}
		switch soon := p.ExpiresAt.Add(-lead); {
		case !now.Before(p.ExpiresAt):
			used := *p
			// This Rotator's own uses not yet written count; other
			// replicas' count once they have written them.
			r.uses.overlayValue(owner, k.ID, &used)
			e.Kind, e.LastUsedAt = EventGraceEnded, used.LastUsedAt
			e.UsedAtEnd = !used.LastUsedAt.IsZero() && !used.LastUsedAt.Before(soon)
			events = append(events, e)
			continue
		case p.RemindedAt.IsZero() && !now.Before(soon):
			used := *p
			r.uses.overlayValue(owner, k.ID, &used)
			e.Kind, e.LastUsedAt = EventGraceEndingSoon, used.LastUsedAt
			events = append(events, e)
			p.RemindedAt = now
		case p.RemindedAt.IsZero():
			next(soon)
		}
		next(p.ExpiresAt) // EventGraceEnded
	}
	return events
}

// graceLead returns the lead of the notice before the grace window of
// k.Previous[j] ends: Reminders.GraceLead, or half the window when it is
// shorter than twice that. The window opened when the value was
// replaced, as the next newer one was issued.
func (r *Rotator) graceLead(k *store.Record, j int) time.Duration {
	opened := k.Current.CreatedAt
	if j > 0 {
		opened = k.Previous[j-1].CreatedAt
	}
	lead := r.set.reminders.graceLead
	if window := k.Previous[j].ExpiresAt.Sub(opened); window < 2*lead {
		lead = max(0, window/2)
	}
	return lead
}

// keyEnd returns the instant k stops working, by revocation or expiry,
// whichever comes first; zero if neither is set.
func keyEnd(k *store.Record) time.Time {
	end := k.ExpiresAt
	if !k.RevokedAt.IsZero() && (end.IsZero() || k.RevokedAt.Before(end)) {
		end = k.RevokedAt
	}
	return end
}

// ceilMicro returns t in UTC, moved up to a whole microsecond: the
// precision of SQL stores, which then keep DueAt as it was computed, so
// that a sweep that finds nothing new has nothing to save. Rounding up
// keeps a sweep from finding an owner due before anything is.
func ceilMicro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	t = t.UTC()
	if c := t.Truncate(time.Microsecond); c.Before(t) {
		return c.Add(time.Microsecond)
	}
	return t
}
