package rotationhttp

import (
	"strings"

	"github.com/rotorkit/rotor/rotation/internal/secretid"
)

// maxEchoed is the longest text from a request, such as a path segment
// or a member name, that problems, errors and logs repeat as it is. It is
// shorter than the 24-character pieces by which a key is recognised
// (see secretstest.Forms), so a key pasted in the wrong place never comes
// back whole or in a recognisable piece.
const maxEchoed = 23

// mayEcho reports whether s, text a client sent, may be repeated in a
// problem, an error or a log: it is at most [maxEchoed] bytes long, or
// has the shape of a secret id, which is not secret.
func mayEcho(s string) bool {
	return len(s) <= maxEchoed || secretid.Is(s)
}

// redacted stands in for a path segment that [mayEcho] refuses.
const redacted = "REDACTED"

// shownPath returns path with every segment that [mayEcho] refuses
// replaced by "REDACTED", so that an answer or a log line never repeats a
// key that a client put in a URL.
func shownPath(path string) string {
	all := true
	for seg := range strings.SplitSeq(path, "/") {
		all = all && mayEcho(seg)
	}
	if all {
		return path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if !mayEcho(seg) {
			segs[i] = redacted
		}
	}
	return strings.Join(segs, "/")
}
