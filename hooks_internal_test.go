package workerskv

// Hooks for the fleet test (package workerskv_test), to run its workload as the library behaved before
// it shared the account's budget: each turns one of those behaviours off.

// IgnoreServerLimits makes c (and every copy of it) forget what the server says about the rate limit:
// no lockout after a 429 or an empty Ratelimit budget, and no pacing from the Ratelimit header.
func IgnoreServerLimits(c *Client) { c.core.budget.ignore = true }

// LoadOneByOne makes c load each miss with a request of its own instead of batching misses into bulk
// gets.
func LoadOneByOne(c *Cache) { c.oneByOne = true }

// ClientOf is the client a handle sends its requests through.
func ClientOf(kv *KV) *Client { return kv.client }
