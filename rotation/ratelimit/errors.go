package ratelimit

import "errors"

// ErrUnavailable means a limiter could not read a key's budget, because
// the backend that keeps it cannot be reached, and refused the request
// rather than let it through unlimited. It passes when the backend
// returns: rotationhttp answers it 503. A backend returns it wrapped,
// with the backend's own error.
var ErrUnavailable = errors.New("ratelimit: limiter unavailable")

// OptionError reports an option of [NewMemory], or an argument of
// [Limiter.Allow], that cannot work, such as a negative MaxKeys or a limit
// that is not positive. It is the caller's mistake, not a condition to
// branch on at run time: it matches no sentinel, and rotationhttp answers
// it with a bare 500. It names the field and what is wrong, never a value.
type OptionError struct {
	Field  string // the option or argument, such as "MaxKeys" or "perMinute"
	Reason string // what is wrong, such as "must not be negative"
}

// Error returns "ratelimit: invalid option <Field>: <Reason>".
func (e *OptionError) Error() string {
	return "ratelimit: invalid option " + e.Field + ": " + e.Reason
}

// CheckArgs returns the [*OptionError] that [Limiter.Allow] returns for
// id and perMinute, or nil if they can work: an id that is not empty and
// a limit that is positive. Backends call it first, so that all refuse
// the same arguments alike.
func CheckArgs(id string, perMinute int) error {
	switch {
	case perMinute <= 0:
		return &OptionError{Field: "perMinute", Reason: "must be positive"}
	case id == "":
		return &OptionError{Field: "id", Reason: "must not be empty"}
	}
	return nil
}
