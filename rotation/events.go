package rotation

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind int

// The kinds of events a Rotator reports.
const (
	// EventCreated: a secret was created.
	EventCreated EventKind = iota + 1
	// EventRegenerated: a secret was given a new value; OldHint and
	// OldExpiresAt say which value it replaced and when that one stops
	// working, and CutShort lists grace windows ended early.
	EventRegenerated
	// EventUpdated: a secret's attributes were changed.
	EventUpdated
	// EventRevoked: a secret was revoked.
	EventRevoked
	// EventDeleted: a secret was deleted for good.
	EventDeleted
	// EventDesignated: the signing designation moved to SecretID, from
	// PreviousID if there was one.
	EventDesignated
	// EventOwnerDeleted: every secret of the owner was deleted; Count says
	// how many.
	EventOwnerDeleted

	// The lifecycle events below are sent by [Rotator.Run] (or by any
	// change saved at a moment when one is due), each at most once per
	// key and occasion across every Rotator sharing the store: the mark
	// that it was sent is saved in the keyset with the same
	// compare-and-swap as any change.

	// EventExpiringSoon: the secret expires at ExpiresAt, Lead from the
	// reminder's moment (one of Reminders.ExpiryLeads); Name and Hint say
	// which secret it is.
	EventExpiringSoon
	// EventGraceEndingSoon: the previous value OldHint of the secret stops
	// working at OldExpiresAt, the end of its grace window; LastUsedAt is
	// its latest recorded use (zero if none).
	EventGraceEndingSoon
	// EventGraceEnded: the previous value OldHint's grace window ended at
	// OldExpiresAt; LastUsedAt is its latest recorded use, and UsedAtEnd
	// says whether that fell in the last part of the window (its last
	// Reminders.GraceLead), when a client still relied on it.
	EventGraceEnded
	// EventExpired: the secret expired at ExpiresAt.
	EventExpired
	// EventLeaked: a value of the secret was reported seen in public;
	// Leak says where and what was done, and OldHint names the value when
	// it was a previous one. See [Rotator.ReportLeak].
	EventLeaked
)

// String returns "created", "regenerated", "updated", "revoked",
// "deleted", "designated", "owner deleted", "expiring soon", "grace ending
// soon", "grace ended", "expired" or "leaked".
func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventRegenerated:
		return "regenerated"
	case EventUpdated:
		return "updated"
	case EventRevoked:
		return "revoked"
	case EventDeleted:
		return "deleted"
	case EventDesignated:
		return "designated"
	case EventOwnerDeleted:
		return "owner deleted"
	case EventExpiringSoon:
		return "expiring soon"
	case EventGraceEndingSoon:
		return "grace ending soon"
	case EventGraceEnded:
		return "grace ended"
	case EventExpired:
		return "expired"
	case EventLeaked:
		return "leaked"
	}
	return "unknown"
}

// Event reports a saved change, for audit logs and notifications. It holds
// ids and hints, never a secret value.
type Event struct {
	Kind  EventKind
	Owner string
	// SecretID is the secret the change is about; it is the same before
	// and after a regeneration. Empty for EventOwnerDeleted.
	SecretID string
	// PreviousID is the secret that was designated before, for
	// EventDesignated.
	PreviousID string
	Hint       string    // the last four characters of SecretID's current value
	At         time.Time // when the change was made, by the Rotator's clock
	// OldHint and OldExpiresAt are the value a regeneration replaced and
	// when it stops working (At, when no grace window was asked for), for
	// EventRegenerated; and, for EventLeaked of a previous value, the
	// value that leaked and when its window ends (At, when the report
	// ended it).
	OldHint      string
	OldExpiresAt time.Time
	// CutShort lists the previous values whose grace window the change
	// ended.
	CutShort []Cut
	// Count is how many secrets an EventOwnerDeleted removed.
	Count int

	// Name is the secret's name, for the lifecycle events.
	Name string
	// ExpiresAt is when the secret expires, for EventExpiringSoon and
	// EventExpired.
	ExpiresAt time.Time
	// Lead is how long before ExpiresAt an EventExpiringSoon was due.
	Lead time.Duration
	// LastUsedAt is the latest recorded use of the previous value OldHint,
	// for EventGraceEndingSoon and EventGraceEnded; zero if none.
	LastUsedAt time.Time
	// UsedAtEnd reports, for EventGraceEnded, whether LastUsedAt fell in
	// the last part of the grace window.
	UsedAtEnd bool
	// Leak says where a leaked value was seen and what was done, for
	// EventLeaked.
	Leak Leak
}

// Leak is where a leaked value was seen, as a secret-scanning report
// gives it, and what was done about it. See [Rotator.ReportLeak].
type Leak struct {
	URL    string // where the value was found, such as a commit's address
	Source string // where on the scanner's site, such as "content" or "commit"
	// Revoked reports whether the leaked value stopped working because of
	// the report: the secret was revoked, for its current value, or, for
	// a previous value, that value's grace window was ended (listed in
	// the event's CutShort) while the secret and its current value work
	// on. False when the policy was to report only, or when the value had
	// stopped working already.
	Revoked bool
}

// LogValue returns the event as a group of its set fields.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", e.Kind.String()),
		slog.String("owner", e.Owner),
	}
	if e.SecretID != "" {
		attrs = append(attrs, slog.String("secret", e.SecretID))
	}
	if e.Hint != "" {
		attrs = append(attrs, slog.String("hint", e.Hint))
	}
	if e.PreviousID != "" {
		attrs = append(attrs, slog.String("previous", e.PreviousID))
	}
	if e.Kind == EventRegenerated {
		attrs = append(attrs, slog.String("old_hint", e.OldHint), slog.Time("old_expires_at", e.OldExpiresAt))
	}
	if len(e.CutShort) > 0 {
		// One group, with a member per cut, so that no handler writes a
		// key twice.
		cuts := make([]any, 0, len(e.CutShort))
		for i, c := range e.CutShort {
			cuts = append(cuts, slog.Group(strconv.Itoa(i),
				slog.String("secret", c.SecretID),
				slog.String("hint", c.Value.Hint),
				slog.Time("was_until", c.Value.ExpiresAt)))
		}
		attrs = append(attrs, slog.Group("cut_short", cuts...))
	}
	if e.Kind == EventOwnerDeleted {
		attrs = append(attrs, slog.Int("count", e.Count))
	}
	switch e.Kind {
	case EventExpiringSoon, EventExpired:
		attrs = append(attrs, slog.String("name", e.Name), slog.Time("expires_at", e.ExpiresAt))
		if e.Kind == EventExpiringSoon {
			attrs = append(attrs, slog.Duration("lead", e.Lead))
		}
	case EventGraceEndingSoon, EventGraceEnded:
		attrs = append(attrs, slog.String("name", e.Name),
			slog.String("old_hint", e.OldHint), slog.Time("old_expires_at", e.OldExpiresAt))
		if !e.LastUsedAt.IsZero() {
			attrs = append(attrs, slog.Time("last_used_at", e.LastUsedAt))
		}
		if e.Kind == EventGraceEnded {
			attrs = append(attrs, slog.Bool("used_at_end", e.UsedAtEnd))
		}
	case EventLeaked:
		if e.OldHint != "" { // a previous value leaked
			attrs = append(attrs, slog.String("old_hint", e.OldHint), slog.Time("old_expires_at", e.OldExpiresAt))
		}
		attrs = append(attrs, slog.String("url", e.Leak.URL), slog.String("source", e.Leak.Source),
			slog.Bool("revoked", e.Leak.Revoked))
	}
	attrs = append(attrs, slog.Time("at", e.At))
	return slog.GroupValue(attrs...)
}

// LogEvents returns an Options.Observer that logs every event to l at
// level Info, under the message "rotor: secret <kind>", or "rotor: owner
// deleted" for EventOwnerDeleted.
func LogEvents(l *slog.Logger) func(context.Context, Event) {
	return func(ctx context.Context, e Event) {
		msg := "rotor: secret " + e.Kind.String()
		if e.Kind == EventOwnerDeleted {
			msg = "rotor: owner deleted"
		}
		l.LogAttrs(ctx, slog.LevelInfo, msg, slog.Any("event", e))
	}
}
