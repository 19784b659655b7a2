package rotation

import (
	"context"
	"log/slog"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind int

// The kinds of events a Rotator reports.
const (
	// EventCreated: a secret was created.
	EventCreated EventKind = iota + 1
	// EventRegenerated: a secret replaced another; OldExpiresAt says when
	// the old one stops working (zero: at once) and CutShort lists grace
	// windows ended early.
	EventRegenerated
	// EventRevoked: a secret was revoked.
	EventRevoked
	// EventDeleted: a secret was deleted for good.
	EventDeleted
	// EventDesignated: the signing designation moved to SecretID, from
	// PreviousID if there was one.
	EventDesignated
)

// String returns "created", "regenerated", "revoked", "deleted" or
// "designated".
func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventRegenerated:
		return "regenerated"
	case EventRevoked:
		return "revoked"
	case EventDeleted:
		return "deleted"
	case EventDesignated:
		return "designated"
	}
	return "unknown"
}

// Event reports a saved change, for audit logs and notifications. It holds
// ids and hints, never a secret value.
type Event struct {
	Kind       EventKind
	Owner      string
	SecretID   string    // the secret created, revoked, deleted or designated; the new one when regenerated
	PreviousID string    // the replaced secret, or the previously designated one
	Hint       string    // SecretID's last four characters
	At         time.Time // when the change was made, by the Rotator's clock
	// OldExpiresAt is when the replaced secret stops working; zero when
	// it was revoked at once. Regenerated events only.
	OldExpiresAt time.Time
	// CutShort lists the secrets whose grace window the change ended.
	CutShort []string
}

// LogValue returns the event as a group of its set fields.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", e.Kind.String()),
		slog.String("owner", e.Owner),
		slog.String("secret", e.SecretID),
	}
	if e.Hint != "" {
		attrs = append(attrs, slog.String("hint", e.Hint))
	}
	if e.PreviousID != "" {
		attrs = append(attrs, slog.String("previous", e.PreviousID))
	}
	if e.Kind == EventRegenerated {
		if e.OldExpiresAt.IsZero() {
			attrs = append(attrs, slog.Bool("old_revoked", true))
		} else {
			attrs = append(attrs, slog.Time("old_expires_at", e.OldExpiresAt))
		}
	}
	if len(e.CutShort) > 0 {
		attrs = append(attrs, slog.Any("cut_short", e.CutShort))
	}
	attrs = append(attrs, slog.Time("at", e.At))
	return slog.GroupValue(attrs...)
}

// LogEvents returns an Options.Observer that logs every event to l at
// level Info, under the message "rotor: secret <kind>".
func LogEvents(l *slog.Logger) func(context.Context, Event) {
	return func(ctx context.Context, e Event) {
		l.LogAttrs(ctx, slog.LevelInfo, "rotor: secret "+e.Kind.String(), slog.Any("event", e))
	}
}
