package rotationtest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationtest"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestClock(t *testing.T) {
	tests := []struct {
		name string
		step func(c *rotationtest.Clock) time.Time // returns what it says the time is
		want time.Time
	}{
		{"stands still", func(c *rotationtest.Clock) time.Time { return c.Now() }, start},
		{"advances", func(c *rotationtest.Clock) time.Time { return c.Advance(time.Minute) }, start.Add(time.Minute)},
		{"advances by a nanosecond", func(c *rotationtest.Clock) time.Time { return c.Advance(time.Nanosecond) }, start.Add(time.Nanosecond)},
		{"goes back", func(c *rotationtest.Clock) time.Time { return c.Advance(-time.Hour) }, start.Add(-time.Hour)},
		{"is set", func(c *rotationtest.Clock) time.Time {
			c.Set(start.Add(24 * time.Hour))
			return c.Now()
		}, start.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			c := rotationtest.NewClock(start)
			is.Equal(tt.step(c), tt.want) // the step says where the clock is
			is.Equal(c.Now(), tt.want)    // and Now agrees
		})
	}
}

func TestClockZeroValue(t *testing.T) {
	is := is.New(t)
	var c rotationtest.Clock
	is.True(c.Now().IsZero())                                      // the zero Clock stands at the zero time
	is.Equal(c.Advance(time.Second), time.Time{}.Add(time.Second)) // and can be stepped
}

func TestClockConcurrent(t *testing.T) {
	is := is.New(t)
	c := rotationtest.NewClock(start)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	is.Equal(c.Now(), start.Add(1600*time.Second)) // no step is lost between goroutines
}
