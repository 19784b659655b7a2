package rotationtest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationtest"
)

func TestClock(t *testing.T) {
	is := is.New(t)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := rotationtest.NewClock(start)
	is.Equal(c.Now(), start)                                 // a new clock stands where it was put
	is.Equal(c.Advance(time.Minute), start.Add(time.Minute)) // Advance returns the new instant
	is.Equal(c.Now(), start.Add(time.Minute))                // and Now follows
	c.Set(start)
	is.Equal(c.Now(), start) // Set moves it anywhere
}

func TestClockConcurrent(t *testing.T) {
	is := is.New(t)
	start := time.Unix(0, 0)
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
