package ratelimit_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationtest"
)

// A key limited to 3 requests a minute gets 3 at once, then one every 20
// seconds. The clock is stepped, as a test steps it.
func ExampleMemory() {
	clock := rotationtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	lim, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for range 4 {
		ok, wait, err := lim.Allow(ctx, "sec_0123456789abcdefghijklmnop", 3)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ok, wait)
	}
	clock.Advance(20 * time.Second)
	ok, _, _ := lim.Allow(ctx, "sec_0123456789abcdefghijklmnop", 3)
	fmt.Println(ok)
	// Output:
	// true 0s
	// true 0s
	// true 0s
	// false 20s
	// true
}
