package scanning

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/rotorkit/rotor/rotation"
)

// DefaultMaxBodyBytes is the largest report a [Handler] reads by default.
const DefaultMaxBodyBytes = 1 << 20

// Options tunes a [Handler]. A nil *Options, and every zero field, means
// the default.
type Options struct {
	// Policy is what is done with a key found: [rotation.LeakRevoke] (the
	// zero value) ends it at once; [rotation.LeakReportOnly] only reports.
	Policy rotation.LeakPolicy
	// Logger receives a line per report, with counts and never a token;
	// nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds the report read, before its signature is
	// checked; a larger one is answered 413. 0 means
	// [DefaultMaxBodyBytes].
	MaxBodyBytes int64
}

// Handler serves GitHub's secret scanning reports: it verifies each
// report's signature, hands every token to [rotation.Rotator.ReportLeak],
// and replies with the feedback list. It answers:
//
//   - 200 and the feedback, a JSON array of {"token_hash", "token_type",
//     "label"}, one per token in the report's order;
//   - 401 for a report unsigned, badly signed or signed by a key the
//     source does not hold, which changes nothing;
//   - 400 for a well-signed body that is not a JSON array of reports;
//   - 405 for a method other than POST, 413 for a body over MaxBodyBytes;
//   - 503, with Retry-After, when the public keys cannot be had or the
//     Rotator's lookups of unknown keys are used up: the report is to be
//     sent again, and handling it twice is harmless;
//   - 500 when the store fails.
//
// A Handler is safe for concurrent use; make one with [New].
type Handler struct {
	r       *rotation.Rotator
	keys    KeySource
	policy  rotation.LeakPolicy
	log     *slog.Logger
	maxBody int64
}

// New returns a Handler that reports leaks to r and checks signatures
// with keys. It returns an [*OptionError] for options out of range, and panics if
// r or keys is nil.
func New(r *rotation.Rotator, keys KeySource, opts *Options) (*Handler, error) {
	if r == nil || keys == nil {
		panic("scanning: New with a nil Rotator or KeySource")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Policy != rotation.LeakRevoke && o.Policy != rotation.LeakReportOnly {
		return nil, &OptionError{Field: "Options.Policy", Reason: "must be rotation.LeakRevoke or rotation.LeakReportOnly"}
	}
	if o.MaxBodyBytes < 0 {
		return nil, &OptionError{Field: "Options.MaxBodyBytes", Reason: "must not be negative"}
	}
	h := &Handler{r: r, keys: keys, policy: o.Policy, log: o.Logger, maxBody: o.MaxBodyBytes}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h, nil
}

// report is one match in GitHub's report.
type report struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Feedback is one entry of the reply: a token's type, the hex SHA-256 of
// the token, and whether a secret holds it.
type Feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"` // LabelTruePositive or LabelFalsePositive
}

// The labels GitHub accepts.
const (
	LabelTruePositive  = "true_positive"
	LabelFalsePositive = "false_positive"
)

// ServeHTTP handles one report, as [Handler] says.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, h.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.refuse(ctx, w, http.StatusRequestEntityTooLarge, "report too large", nil)
		return
	case err != nil:
		h.refuse(ctx, w, http.StatusBadRequest, "report unreadable", err)
		return
	}
	err = Verify(ctx, h.keys, req.Header.Get(HeaderKeyID), req.Header.Get(HeaderSignature), body)
	switch {
	case errors.Is(err, ErrInvalidSignature):
		h.refuse(ctx, w, http.StatusUnauthorized, "invalid signature", err)
		return
	case err != nil:
		w.Header().Set("Retry-After", "60")
		h.refuse(ctx, w, http.StatusServiceUnavailable, "public keys unavailable", err)
		return
	}
	// Only now, with the signature good, is the body parsed.
	var reports []report
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '[' || json.Unmarshal(trimmed, &reports) != nil {
		h.refuse(ctx, w, http.StatusBadRequest, "report is not a JSON array of matches", nil)
		return
	}
	reply := make([]Feedback, 0, len(reports))
	var found, ended int
	for _, rep := range reports {
		leaked, err := h.r.ReportLeak(ctx, rep.Token, rotation.Leak{URL: rep.URL, Source: rep.Source}, h.policy)
		if err != nil {
			// Neither error holds the token. The leaks handled so far
			// stay handled; a report sent again finds them so.
			status := http.StatusInternalServerError
			if errors.Is(err, rotation.ErrOverloaded) {
				status = http.StatusServiceUnavailable
				w.Header().Set("Retry-After", "1")
			}
			if ctx.Err() != nil {
				return // the sender has gone
			}
			h.refuse(ctx, w, status, "report not handled", err)
			return
		}
		sum := sha256.Sum256([]byte(rep.Token))
		fb := Feedback{TokenHash: hex.EncodeToString(sum[:]), TokenType: rep.Type, Label: LabelFalsePositive}
		if leaked.Found {
			fb.Label = LabelTruePositive
			found++
			if leaked.Action == rotation.LeakRevoked || leaked.Action == rotation.LeakGraceEnded {
				ended++
			}
		}
		reply = append(reply, fb)
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "scanning: leak report handled",
		slog.Int("tokens", len(reports)), slog.Int("true_positives", found),
		slog.Int("ended", ended), slog.Int("false_positives", len(reports)-found),
		slog.String("policy", h.policy.String()))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(reply) // a failed write has no one to tell
}

// refuse answers status with a short text, and logs why; err never holds
// a token.
func (h *Handler) refuse(ctx context.Context, w http.ResponseWriter, status int, text string, err error) {
	attrs := []slog.Attr{slog.Int("status", status), slog.String("reason", text)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "scanning: leak report refused", attrs...)
	http.Error(w, text, status)
}
