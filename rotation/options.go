package rotation

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// Policy bounds what an owner may hold. The zero value means the defaults;
// a negative MaxActive, MaxInGrace or MaxGracePeriod is an [*OptionError]
// from [New].
type Policy struct {
	// MaxActive is how many active secrets an owner may hold. 0 means 3.
	MaxActive int
	// MaxInGrace is how many previous values, over all of an owner's
	// secrets, may be in a grace window at once. A regeneration that would
	// exceed it ends the window that would end soonest, among the others,
	// instead of failing. 0 means MaxActive.
	MaxInGrace int
	// MaxGracePeriod is the longest grace window a regeneration may ask
	// for. 0 means one hour.
	MaxGracePeriod time.Duration
	// KeepEnded is how many expired or revoked secrets stay in an owner's
	// list, for display; older ones are dropped at the next change and
	// their keys become unknown. 0 means 10; negative keeps none.
	KeepEnded int
}

// The defaults a zero [Policy] and zero [Options] stand for.
const (
	DefaultMaxActive      = 3
	DefaultMaxGracePeriod = time.Hour
	DefaultKeepEnded      = 10
	DefaultUseInterval    = time.Minute
	DefaultMaxPendingUses = 250_000
)

// The defaults that zero fields of [Reminders] stand for; nil
// ExpiryLeads stands for 14 days, 7 days and 1 day.
const (
	DefaultGraceLead     = 10 * time.Minute
	DefaultSweepInterval = time.Minute
)

// The defaults that zero fields of [CacheOptions] stand for.
const (
	DefaultMaxOwners      = 10_000
	DefaultMaxAge         = 30 * time.Second
	DefaultPollInterval   = 2 * time.Second
	DefaultListenRetry    = time.Second
	DefaultMissTTL        = time.Second
	DefaultMaxMisses      = 10_000
	DefaultMaxMissLookups = 1_000
)

// DefaultFormat is the key format of secrets created without one.
const DefaultFormat secrets.Format = "sk_live"

// Options configures a [Rotator]. A nil *Options, and every zero field,
// means the default; a field out of range makes [New] return an
// [*OptionError].
type Options struct {
	// Policy bounds what each owner may hold.
	Policy Policy

	// Format is the key format of secrets whose [Spec] names none.
	// The zero value means [DefaultFormat].
	Format secrets.Format

	// Keyring seals the values of secrets that must sign or verify
	// HMACs. nil means such secrets cannot be created: asking for one is
	// an [*OptionError].
	Keyring *secrets.Keyring

	// Pepper, when set, keys the digests stores index keys by, so a copy
	// of the store alone cannot be used to test guesses. Changing it makes
	// every existing key unknown.
	Pepper secrets.Value

	// Now is the time source. nil means time.Now. Tests pass
	// rotationtest.Clock.Now to step through grace windows without waiting.
	Now func() time.Time

	// UseInterval is how often [Rotator.Run] writes recorded uses to the
	// store: the uses seen in between are batched, keeping the latest per
	// value. 0 means one minute; negative makes Run write each use as
	// soon as it is recorded.
	UseInterval time.Duration

	// Reminders says when the lifecycle events are due: the reminders
	// before a secret expires and the notice before a grace window ends.
	// See "Reminders" in the package doc.
	Reminders Reminders

	// Cache bounds the copies of owners' keysets that the Rotator keeps
	// in memory, and says how it keeps them in step with the store.
	Cache CacheOptions

	// MaxPendingUses bounds the values whose latest use a Rotator keeps
	// unwritten, some 300 bytes each (75 MB at the default): two and a
	// half minutes of 100,000 keys used a minute. Once it is reached, as
	// when Run is not running or the store keeps failing, uses of other
	// values are dropped, and logged, until a write makes room. 0 means
	// [DefaultMaxPendingUses]; negative is an [*OptionError].
	MaxPendingUses int

	// Wait is how the Rotator waits for time to pass: between the batches
	// [Rotator.Run] writes, between its sweeps of reminders, and before a change that lost a race for an
	// owner's keyset to another writer (another process, or Rotator)
	// tries again. It returns nil after d, or ctx's error once ctx is
	// done, whichever comes first. nil means a timer of package time.
	// Tests that step Now pass a function that steps it, or that returns
	// when the test says.
	Wait func(ctx context.Context, d time.Duration) error

	// Logger receives the Rotator's own diagnostics, such as a failed
	// write of recorded uses. nil discards them. Nothing logged holds
	// secret material.
	Logger *slog.Logger

	// Observer is called after each change is saved, outside any lock,
	// with what happened; see [LogEvents] for an audit log. nil means none.
	Observer func(context.Context, Event)
}

// Reminders says when a Rotator sends the lifecycle events
// [EventExpiringSoon] and [EventGraceEndingSoon], and how often
// [Rotator.Run] sweeps the store for those that come due with no change
// to carry them. The zero value means the defaults; a negative field, or
// a lead that is not positive, is an [*OptionError] from [New].
type Reminders struct {
	// ExpiryLeads are how long before a secret's ExpiresAt it is
	// reminded of, once at each lead. nil means 14 days, 7 days and 1 day
	// before. An empty slice that is not nil, such as
	// []time.Duration{}, sends no reminders before expiry (as an empty
	// non-nil map turns HTTP/2 off in net/http's Transport); EventExpired
	// is sent all the same. The order does not matter, and repeats count
	// once.
	ExpiryLeads []time.Duration

	// GraceLead is how long before a previous value's grace window ends
	// EventGraceEndingSoon is due; for a window shorter than twice
	// GraceLead, half the window is. It is also the last part of the
	// window in which a use makes EventGraceEnded report UsedAtEnd. 0
	// means [DefaultGraceLead].
	GraceLead time.Duration

	// SweepInterval is how often [Rotator.Run] looks for owners with
	// something due (see [Rotator.Sweep]). 0 means
	// [DefaultSweepInterval].
	SweepInterval time.Duration
}

// defaultExpiryLeads are the leads nil Reminders.ExpiryLeads stands for.
var defaultExpiryLeads = []time.Duration{14 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour}

// reminderSettings is Reminders resolved and checked.
type reminderSettings struct {
	leads     []time.Duration // expiry leads, shortest first, each once
	graceLead time.Duration
	sweep     time.Duration
}

// resolve checks o and fills in the defaults.
func (o Reminders) resolve() (reminderSettings, error) {
	switch {
	case o.GraceLead < 0:
		return reminderSettings{}, &OptionError{Field: "Reminders.GraceLead", Reason: "must not be negative"}
	case o.SweepInterval < 0:
		return reminderSettings{}, &OptionError{Field: "Reminders.SweepInterval", Reason: "must not be negative"}
	}
	leads := o.ExpiryLeads
	if leads == nil {
		leads = defaultExpiryLeads
	}
	for _, l := range leads {
		if l <= 0 {
			return reminderSettings{}, &OptionError{Field: "Reminders.ExpiryLeads", Reason: "must hold only positive durations"}
		}
	}
	leads = slices.Clone(leads) // the caller's to change after New
	slices.Sort(leads)
	return reminderSettings{
		leads:     slices.Compact(leads),
		graceLead: cmp.Or(o.GraceLead, DefaultGraceLead),
		sweep:     cmp.Or(o.SweepInterval, DefaultSweepInterval),
	}, nil
}

// CacheOptions configures the Rotator's cache of owners' keysets, from
// which it lists, authenticates, signs and verifies without reaching the
// store; see "Caching" in the package doc. The zero value, and every zero
// field, means the default; a negative field is an [*OptionError] from
// [New] unless its doc says what it means.
type CacheOptions struct {
	// MaxOwners is how many owners' keysets are kept at most; beyond it,
	// the least recently used of a sample of 16 go first. Each costs a
	// few hundred bytes (about 340 for an owner with one secret, HMAC
	// keys not counted). 0 means [DefaultMaxOwners].
	MaxOwners int

	// MaxAge bounds how stale a kept keyset may be: one whose read began
	// MaxAge ago or more is read again before it is served, whatever
	// [Rotator.Run] has heard. It is the staleness bound when Run does not
	// run, or cannot reach the store. 0 means [DefaultMaxAge].
	MaxAge time.Duration

	// PollInterval is how often [Rotator.Run] asks a store that keeps a
	// [store.ChangeLog] which owners changed. 0 means [DefaultPollInterval].
	PollInterval time.Duration

	// ListenRetry is how long [Rotator.Run] waits before listening again
	// when a [store.Notifier]'s notifications cannot start, or stop less
	// than ListenRetry after starting; when they stop later, it listens
	// again at once. 0 means [DefaultListenRetry].
	ListenRetry time.Duration

	// MissTTL is how long a key the store does not know is answered
	// ErrInvalidKey without asking the store again. 0 means
	// [DefaultMissTTL]; negative means unknown keys are not remembered.
	MissTTL time.Duration

	// MaxMisses bounds how many unknown keys are remembered; beyond it,
	// the oldest are forgotten first. 0 means [DefaultMaxMisses].
	MaxMisses int

	// MaxMissLookups caps the store lookups per second, after a burst of
	// as many, that presented keys the store turns out not to know may
	// cost, so that a flood of made-up keys (anyone can compute their
	// checksum) cannot reach the store beyond it. Once the cap is reached,
	// keys that are not in the cache are answered [ErrOverloaded] until
	// it has room again; keys of cached owners are unaffected, and lookups
	// that find a key cost nothing. 0 means [DefaultMaxMissLookups];
	// negative means no cap.
	MaxMissLookups int
}

// cacheSettings is CacheOptions resolved and checked.
type cacheSettings struct {
	maxOwners, maxMisses, maxMissLookups       int
	maxAge, pollInterval, listenRetry, missTTL time.Duration
}

// resolve checks o and fills in the defaults.
func (o CacheOptions) resolve() (cacheSettings, error) {
	var c cacheSettings
	for _, f := range []struct {
		name     string
		val, def int
		dst      *int
	}{
		{"MaxOwners", o.MaxOwners, DefaultMaxOwners, &c.maxOwners},
		{"MaxMisses", o.MaxMisses, DefaultMaxMisses, &c.maxMisses},
	} {
		if f.val < 0 {
			return cacheSettings{}, &OptionError{Field: "Cache." + f.name, Reason: "must not be negative"}
		}
		*f.dst = cmp.Or(f.val, f.def)
	}
	for _, f := range []struct {
		name     string
		val, def time.Duration
		dst      *time.Duration
	}{
		{"MaxAge", o.MaxAge, DefaultMaxAge, &c.maxAge},
		{"PollInterval", o.PollInterval, DefaultPollInterval, &c.pollInterval},
		{"ListenRetry", o.ListenRetry, DefaultListenRetry, &c.listenRetry},
	} {
		if f.val < 0 {
			return cacheSettings{}, &OptionError{Field: "Cache." + f.name, Reason: "must not be negative"}
		}
		*f.dst = cmp.Or(f.val, f.def)
	}
	c.missTTL = max(0, cmp.Or(o.MissTTL, DefaultMissTTL))                      // negative: remember none
	c.maxMissLookups = max(0, cmp.Or(o.MaxMissLookups, DefaultMaxMissLookups)) // negative, so 0: no cap
	return c, nil
}

// settings is Options resolved and checked, so the rest of the package
// reads plain fields.
type settings struct {
	policy      Policy
	format      secrets.Format
	keyring     *secrets.Keyring
	digester    secrets.Digester
	now         func() time.Time
	useInterval time.Duration
	cache       cacheSettings
	reminders   reminderSettings
	maxPending  int
	wait        func(context.Context, time.Duration) error
	log         *slog.Logger
	observe     func(context.Context, Event)
}

func resolve(o *Options) (settings, error) {
	if o == nil {
		o = &Options{}
	}
	p := o.Policy
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"Policy.MaxActive", p.MaxActive < 0},
		{"Policy.MaxInGrace", p.MaxInGrace < 0},
		{"Policy.MaxGracePeriod", p.MaxGracePeriod < 0},
		{"MaxPendingUses", o.MaxPendingUses < 0},
	} {
		if f.negative {
			return settings{}, &OptionError{Field: f.name, Reason: "must not be negative"}
		}
	}
	if p.MaxActive == 0 {
		p.MaxActive = DefaultMaxActive
	}
	if p.MaxInGrace == 0 {
		p.MaxInGrace = p.MaxActive
	}
	if p.MaxGracePeriod == 0 {
		p.MaxGracePeriod = DefaultMaxGracePeriod
	}
	switch {
	case p.KeepEnded == 0:
		p.KeepEnded = DefaultKeepEnded
	case p.KeepEnded < 0:
		p.KeepEnded = 0 // documented: keep none
	}
	s := settings{
		policy:      p,
		format:      o.Format,
		keyring:     o.Keyring,
		digester:    secrets.NewDigester(o.Pepper),
		now:         o.Now,
		useInterval: o.UseInterval,
		maxPending:  o.MaxPendingUses,
		wait:        o.Wait,
		log:         o.Logger,
		observe:     o.Observer,
	}
	if s.format == "" {
		s.format = DefaultFormat
	}
	if err := s.format.Validate(); err != nil {
		return settings{}, &OptionError{Field: "Format", Reason: err.Error()}
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case s.useInterval == 0:
		s.useInterval = DefaultUseInterval
	case s.useInterval < 0:
		s.useInterval = 0 // documented: Run writes each use at once
	}
	if s.maxPending == 0 {
		s.maxPending = DefaultMaxPendingUses
	}
	if s.wait == nil {
		s.wait = sleep
	}
	var err error
	if s.cache, err = o.Cache.resolve(); err != nil {
		return settings{}, err
	}
	if s.reminders, err = o.Reminders.resolve(); err != nil {
		return settings{}, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func (p Policy) graceRange() string {
	return fmt.Sprintf("must be from 0s to %v", p.MaxGracePeriod)
}
