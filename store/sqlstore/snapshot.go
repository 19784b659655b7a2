package sqlstore

import (
	"strconv"
	"strings"
)

// snapshot is a PostgreSQL snapshot, in the terms of pg_snapshot, whose
// text is "xmin:xmax:xip,…": xmin is the oldest transaction id still
// running when it was taken (xmax if none was), xmax the first id it
// takes as not yet assigned, and xip the ids between them of the
// transactions still running, ascending. The snapshot sees a transaction
// as completed, committed or rolled back, if its id is below xmax and not
// in xip; every other has an id of xmax or more, or one in xip.
type snapshot struct {
	xmin, xmax uint64
	xip        []uint64
}

// parseSnapshot returns the snapshot that text writes as pg_snapshot
// does, and reports whether it is one: decimal ids, xmin ≤ xmax, neither
// of them the invalid id (whose low 32 bits are 0), and xip strictly
// ascending from xmin, below xmax. What it accepts PostgreSQL reads too,
// so a cursor never reaches the server only to be refused in a message
// that quotes it. PostgreSQL also reads what it never writes (repeated or
// trailing ids in xip, spaces, a sign); parseSnapshot refuses those.
func parseSnapshot(text string) (snapshot, bool) {
	xmin, rest, ok1 := strings.Cut(text, ":")
	xmax, xip, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return snapshot{}, false
	}
	var s snapshot
	var ok bool
	if s.xmin, ok = parseXID(xmin); !ok {
		return snapshot{}, false
	}
	if s.xmax, ok = parseXID(xmax); !ok {
		return snapshot{}, false
	}
	if uint32(s.xmin) == 0 || uint32(s.xmax) == 0 || s.xmin > s.xmax {
		return snapshot{}, false
	}
	if xip == "" {
		return s, true
	}
	last := s.xmin
	for i, f := range strings.Split(xip, ",") {
		x, ok := parseXID(f)
		if !ok || x < last || (i > 0 && x == last) || x >= s.xmax {
			return snapshot{}, false
		}
		s.xip = append(s.xip, x)
		last = x
	}
	return s, true
}

// parseXID parses a transaction id of type xid8: a decimal number of 64
// bits, digits only (ParseUint takes no sign, space or underscore in
// base 10).
func parseXID(f string) (uint64, bool) {
	x, err := strconv.ParseUint(f, 10, 64)
	return x, err == nil
}

// String returns s as pg_snapshot writes it.
func (s snapshot) String() string {
	b := make([]byte, 0, 24*(2+len(s.xip)))
	b = strconv.AppendUint(b, s.xmin, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, s.xmax, 10)
	b = append(b, ':')
	for i, x := range s.xip {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, x, 10)
	}
	return string(b)
}
