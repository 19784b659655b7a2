package secretstest

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// loop is a cycle through slices alone, which fmt cannot print.
type loop struct {
	name string
	s    []loop
}

func TestWalkEndsOnCycles(t *testing.T) {
	is := is.New(t)
	l := []loop{{name: "first"}}
	l[0].s = l
	out := walk(l)
	is.Equal(strings.Count(out, "first"), 1) // each element is read once
}

func TestWalkReadsUnexported(t *testing.T) {
	type inner struct {
		b [4]byte
		n int16
	}
	type outer struct {
		s  string
		p  *inner
		m  map[string]any
		ok bool
		f  func()
	}
	is := is.New(t)
	out := walk(&outer{s: "text", p: &inner{b: [4]byte{'a', 'b', 'c', 'd'}, n: -2}, m: map[string]any{"key": 1.5}, ok: true, f: func() {}})
	for _, want := range []string{"text\n", "abcd\n", "97 98 99 100\n", "-2\n", "key\n", "1.5\n", "true\n"} {
		is.True(strings.Contains(out, want)) // every string, number and byte array is read
	}
}

func TestWalkStopsDeep(t *testing.T) {
	is := is.New(t)
	type node struct {
		next *node
		name string
	}
	var head *node
	for range 1000 {
		head = &node{next: head, name: "n"}
	}
	out := walk(head)
	is.True(strings.Count(out, "n\n") <= maxWalkDepth) // the walk stops at its depth bound
}
