// Package workerskv is a client for the Cloudflare Workers KV REST API.
//
// Start with the namespace handle, [KV], from [Client.KV]: it has the methods of the Workers KV
// binding (Get, GetJSON, GetWithMetadata, Put, PutJSON, Delete, List, All and the many-key forms), so Go
// code reads like a Worker's. A service that reads on every request reads through a [Cache], the
// binding's cacheTtl in process, which keeps it under the API's rate limit. The services
// ([Client.Namespaces], [Client.Values], [Client.Keys], [Client.Bulk]) are the full REST mapping.
//
//	c, err := workerskv.NewClient(
//		workerskv.WithAPIToken(os.Getenv("CLOUDFLARE_API_TOKEN")),
//		workerskv.WithAccountID(os.Getenv("CLOUDFLARE_ACCOUNT_ID")),
//	)
//	if err != nil {
//		return err
//	}
//	ns, err := c.Namespaces.Create(ctx, "settings")
//	if err != nil {
//		return err
//	}
//	kv := c.KV(ns.ID)
//	err = kv.Put(ctx, "theme", []byte("dark"), &workerskv.PutOptions{ExpirationTTL: time.Hour})
//	if err != nil {
//		return err
//	}
//	v, err := kv.Get(ctx, "theme") // errors.Is(err, workerskv.ErrKeyNotFound) if there is no such key
//	if err != nil {
//		return err
//	}
//	fmt.Printf("theme: %s\n", v)
//	cache := workerskv.NewCache(kv, &workerskv.CacheOptions{TTL: time.Minute})
//	defer cache.Close()
//	v, err = cache.Get(ctx, "theme") // from KV once a minute at most, from memory otherwise
//	if err != nil {
//		return err
//	}
//	for key, err := range kv.All(ctx, &workerskv.ListKeysOptions{Prefix: "th"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(key.Name, key.Expiration)
//	}
//
// # Authentication
//
// Use an API token ([WithAPIToken]) with the "Workers KV Storage Read" and "Workers KV Storage Write"
// permissions, or a legacy global API key with its email ([WithAPIKey]). [NewClientFromEnv] reads
// CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL), CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_API_BASE_URL. Credentials are sent only to the configured host and never appear in errors,
// logs or the client's String output.
//
// # Errors
//
// A response that is not a success is an [*APIError] with the HTTP status, Cloudflare's error codes and
// messages, the cf-ray ID and how many attempts were made. Match categories with [errors.Is]:
// [ErrNotFound] (with its kinds [ErrKeyNotFound] and [ErrNamespaceNotFound]), [ErrUnauthorized],
// [ErrForbidden], [ErrRateLimited], [ErrConflict], [ErrInvalidInput]. Each error belongs to one
// category, chosen as the live API answers.
// Input the API would refuse (an empty or over-long key, a value over 25 MiB, metadata over 1,024 bytes,
// a TTL under 60 seconds) is refused before anything is sent, with a [*ValidationError].
//
// # Retries and rate limits
//
// Connection errors and HTTP 429, 500, 502, 503, 504 and 520–530 are retried with capped exponential
// backoff and jitter ([WithMaxRetries], [WithBackoff]); other 4xx never are. A Retry-After header is
// honoured up to [WithMaxRetryWait]; a longer wait, or one past the context's deadline, ends the retries
// at once with the error's RetryAfter set. Creating a namespace is retried only when the request never
// reached the server, or on 429. An upload from a reader that cannot seek is sent once.
// When a call ran out of time its error matches [context.DeadlineExceeded] and still names the last
// real cause (a dial error, say) and the number of attempts.
//
// Cloudflare allows 1,200 API requests per 5 minutes per user, shared by every replica of a service
// and by the team's other tools, and locks the user out for 5 minutes when they are crossed. So a
// [Client] remembers what the server said, for all its goroutines and the copies [Client.WithAccount]
// makes:
//   - After a 429 with Retry-After, or a Ratelimit header with no budget left, it sends nothing until
//     the reset. A call made meanwhile waits for the reset if it is within [WithMaxRetryWait] and the
//     context's deadline; otherwise it fails at once, with nothing sent, with an [*APIError] of status
//     429 that matches [ErrRateLimited], has RetryAfter set, and says the refusal is local.
//   - It reads the Ratelimit header, "default";r=<requests left>;t=<seconds until the window resets>
//     (the first item's r and t, whole numbers), and Ratelimit-Policy, "default";q=<quota>;w=<window
//     seconds>. It keeps a reserve of 5% of the quota (at least one request) for the rest of the fleet
//     and the team's tools, and spreads the remaining requests above it evenly over the rest of the
//     window, allowing a burst of a twentieth of them. A call whose turn is further away than
//     WithMaxRetryWait, or past its deadline, fails at once as in a lockout. With the reserve reached
//     the client waits for the reset as for a lockout. A missing or malformed header changes nothing: the client is then paced only
//     by [WithRateLimit], which is always a ceiling on top of the server's pace.
//
// A [Cache] keeps reads of the same keys far below the limit, batches misses into bulk reads, and
// serves its last values while the API refuses.
//
// # Conventions
//
// Each rule below holds everywhere in the package.
//
//   - Pagination: List methods return one page; All methods return an [iter.Seq2] over every item
//     that fetches pages lazily, follows key cursors across empty pages, and stops at the first error
//     or when the loop breaks.
//   - Options: in an [Option] or an option struct, 0 means the default and a negative value turns the
//     feature off ([NoRetries] for counts). The exceptions say so in their doc: [CacheOptions] TTL
//     and MaxBytes, which cannot be turned off.
//   - Retries and resends: a retry sends one failed request again ([WithMaxRetries]); a resend sends
//     again, in a new request, the keys a bulk write or delete reported unsuccessful
//     ([BulkOptions].Resends).
//   - A value with its metadata and expiration is an [Entry], wherever it is read.
//   - Every method takes a [context.Context] first, and the namespace ID next where one applies; the
//     handle from [Client.KV] binds the ID.
//   - An endpoint the package does not wrap is called with [Client.Do], through the same credentials,
//     pacing, retries and errors.
//
// # Testing
//
// The module's kvtest package starts a faithful emulator of the KV API on loopback and returns a ready
// client, so tests exercise real HTTP, limits and error codes without a Cloudflare account.
package workerskv
