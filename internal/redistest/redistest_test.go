package redistest_test

import (
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/internal/redistest"
)

func TestServerStopsAndStarts(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := redistest.NewServer(t)
	c := s.Client(t)
	is.NoErr(c.Set(ctx, "k", "v", 0).Err()) // the server answers

	s.Stop()
	is.True(c.Ping(ctx).Err() != nil) // a stopped server does not

	s.Start()
	is.NoErr(c.Ping(ctx).Err())                  // the client reconnects to the server started again
	is.Equal(c.Exists(ctx, "k").Val(), int64(0)) // which kept nothing
	is.Equal(s.URL(), "redis://"+s.Addr()+"/0")  // on the same address

	sha, err := c.ScriptLoad(ctx, "return 1").Result()
	is.NoErr(err)
	is.NoErr(s.FlushScripts(ctx))
	exists, err := c.ScriptExists(ctx, sha).Result()
	is.NoErr(err)
	is.Equal(exists, []bool{false}) // FlushScripts empties the script cache
}

func TestPrefixCleansUp(t *testing.T) {
	is := is.New(t)
	c := redistest.Client(t)
	var prefix string
	t.Run("test", func(t *testing.T) {
		prefix = redistest.Prefix(t, c)
		for _, k := range []string{"a", "b", "c:d"} {
			is.NoErr(c.Set(t.Context(), prefix+k, "v", 0).Err())
		}
	})
	n, err := c.Exists(t.Context(), prefix+"a", prefix+"b", prefix+"c:d").Result()
	is.NoErr(err)
	is.Equal(n, int64(0)) // the keys under a test's prefix are gone when it ends
	other := redistest.Prefix(t, c)
	is.True(other != prefix) // and each test has its own
}
