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
)

// String returns "created", "regenerated", "updated", "revoked",
// "deleted", "designated" or "owner deleted".
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
	// when it stops working (At, when no grace window was asked for).
	// EventRegenerated only.
	OldHint      string
	OldExpiresAt time.Time
	// CutShort lists the previous values whose grace window the change
	// ended.
	CutShort []Cut
	// Count is how many secrets an EventOwnerDeleted removed.
	Count int
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
