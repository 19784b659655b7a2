package sqlstore

import (
	"slices"
	"strings"
	"testing"
)

func TestParseSnapshot(t *testing.T) {
	valid := []struct{ text, canonical string }{
		{"1:1:", "1:1:"},
		{"12:20:13,15,18", "12:20:13,15,18"},
		{"12:20:12", "12:20:12"},                             // xip may start at xmin
		{"007:9:8", "7:9:8"},                                 // zeros before a number are read, and not written
		{"4294967297:4294967297:", "4294967297:4294967297:"}, // the first valid id of epoch 1
		{"18446744073709551615:18446744073709551615:", "18446744073709551615:18446744073709551615:"},
	}
	for _, tt := range valid {
		s, ok := parseSnapshot(tt.text)
		if !ok {
			t.Errorf("parseSnapshot(%q) refused a snapshot", tt.text)
			continue
		}
		if got := s.String(); got != tt.canonical {
			t.Errorf("parseSnapshot(%q).String() = %q, want %q", tt.text, got, tt.canonical)
		}
	}
	invalid := []string{
		"", "1", "1:1", "1:1:1:", ":1:", "1::", "::",
		"2:1:",                  // xmin after xmax
		"0:1:", "1:4294967296:", // an invalid id (low 32 bits 0), which PostgreSQL refuses
		"1:5:0", "2:5:1", // xip before xmin
		"1:5:5", "1:5:6", // xip at or after xmax
		"1:5:3,2", "1:5:2,2", // xip not strictly ascending
		"1:5:2,", "1:5:,2", "1:5:2,,3", // empty ids, which PostgreSQL partly reads
		" 1:5:", "1:5: 2", "1 :5:", "+1:5:", "1:+5:", "1:5:+2", "-1:5:", "1:5:0x2", "1_0:20:",
		"1:18446744073709551616:", strings.Repeat("9", 100_000) + ":1:",
	}
	for _, text := range invalid {
		if s, ok := parseSnapshot(text); ok {
			t.Errorf("parseSnapshot(%.40q) = %v, want it refused", text, s)
		}
	}
}

// FuzzParseSnapshot checks that whatever parseSnapshot accepts is a
// snapshot PostgreSQL would read back, and that String writes it so
// that it parses to the same.
func FuzzParseSnapshot(f *testing.F) {
	for _, seed := range []string{"1:1:", "12:20:13,15,18", "007:9:8", "2:1:", "1:5:2,", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, ok := parseSnapshot(text)
		if !ok {
			return
		}
		if uint32(s.xmin) == 0 || uint32(s.xmax) == 0 || s.xmin > s.xmax {
			t.Fatalf("parseSnapshot(%q) accepted xmin %d, xmax %d", text, s.xmin, s.xmax)
		}
		for i, x := range s.xip {
			if x < s.xmin || x >= s.xmax || (i > 0 && x <= s.xip[i-1]) {
				t.Fatalf("parseSnapshot(%q) accepted xip %v", text, s.xip)
			}
		}
		again, ok := parseSnapshot(s.String())
		if !ok || again.xmin != s.xmin || again.xmax != s.xmax || !slices.Equal(again.xip, s.xip) {
			t.Fatalf("parseSnapshot(%q) = %v, which writes as %q and reads back as %v, %v", text, s, s.String(), again, ok)
		}
	})
}
