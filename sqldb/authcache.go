package sqldb

import (
	"slices"
	"sync"
	"time"

	"github.com/clink-consortium/clink"
)

// authCache remembers, for a few seconds, the user a token authenticated: checking a token
// took about half the time of a read under load (two queries in a transaction of its own,
// docs/benchmarks.md "Load"). Revoking a token, disabling a user or changing a user's roles
// through this store empties it at once; the same changes made by another process (clink token
// revoke on the server's database) take effect within authCacheTTL.
type authCache struct {
	mu  sync.Mutex
	m   map[string]authEntry // by the token's SHA-256
	gen uint64               // incremented by clear: a check begun before it is not remembered
}

type authEntry struct {
	user  clink.User
	until time.Time
}

// authCacheTTL is how long a token check is remembered.
const authCacheTTL = 5 * time.Second

// maxAuthCache bounds the entries; when full, the cache is emptied.
const maxAuthCache = 10000

func newAuthCache() *authCache { return &authCache{m: map[string]authEntry{}} }

// get returns a copy of the user the digest authenticated, if remembered and not stale at
// now, and the cache's generation, which put wants back.
func (c *authCache) get(digest string, now time.Time) (*clink.User, uint64, bool) {
	if c == nil {
		return nil, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[digest]
	if !ok || !now.Before(e.until) {
		return nil, c.gen, false
	}
	u := e.user
	u.Roles = slices.Clone(e.user.Roles)
	return &u, c.gen, true
}

// put remembers u for digest until until, unless the cache was cleared since gen (the check
// may have read what the clearing change replaced).
func (c *authCache) put(digest string, u *clink.User, until time.Time, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxAuthCache {
		c.m = map[string]authEntry{}
	}
	e := authEntry{user: *u, until: until}
	e.user.Roles = slices.Clone(u.Roles)
	c.m[digest] = e
}

// clear forgets every token check.
func (c *authCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = map[string]authEntry{}
	c.gen++
}
