// Package emulator is a faithful emulator of the Cloudflare Workers KV REST
// API, for tests and local development. Its state is in memory (New) or,
// with NewDurable, kept in a Durable across restarts; the kvemulator command
// serves it as a standalone server, with -data DIR keeping the state in a
// file.
//
// New returns an *Emulator, an http.Handler that serves the API from the
// root of its server, so clients use http://host:port/client/v4 as their
// base URL:
//
//	e := emulator.New(emulator.WithClock(emulator.NewFakeClock(time.Now())))
//	srv := httptest.NewServer(e)
//	defer srv.Close()
//	// base URL srv.URL+"/client/v4", token emulator.DefaultAPIToken,
//	// account emulator.DefaultAccountID
//
// It is written from the API's contract alone and shares no code with the
// workerskv client, so the two check each other.
//
// # What is emulated
//
// Every Workers KV endpoint under /client/v4/accounts/{account_id}/storage/kv/namespaces:
//
//	GET    namespaces                                list (page, per_page, order, direction)
//	POST   namespaces                                create {"title"}
//	GET    namespaces/{id}                           get
//	PUT    namespaces/{id}                           rename {"title"}; the result is the namespace
//	DELETE namespaces/{id}                           delete
//	GET    namespaces/{id}/keys                      list keys (prefix, limit, cursor)
//	GET    namespaces/{id}/values/{key}              read the raw value
//	PUT    namespaces/{id}/values/{key}              write (expiration, expiration_ttl)
//	DELETE namespaces/{id}/values/{key}              delete
//	GET    namespaces/{id}/metadata/{key}            read metadata
//	PUT    namespaces/{id}/bulk                      bulk write
//	POST   namespaces/{id}/bulk/delete               bulk delete
//	DELETE namespaces/{id}/bulk                      bulk delete (deprecated form)
//	POST   namespaces/{id}/bulk/get                  bulk get (type text|json, withMetadata)
//
// Every response except a successful value read is the v4 envelope
// {"success","errors":[{"code","message"}],"messages":[],"result"} with
// result_info on the two lists; failures carry "result": null. Each response
// has a Cf-Ray header unique to it. Unknown paths get 400 with two errors,
// codes 7003 ("Could not route to <path>, perhaps your object identifier is
// invalid?") and 7000 ("No route for that URI"), as Cloudflare answers; a
// known path with another method 405 (code 7001) and an Allow header.
//
// Namespaces have random IDs of 32 lowercase hex characters and report
// supports_url_encoding: true: the key segment of values/{key} and
// metadata/{key} is percent-decoded exactly once, from the escaped path, so
// "dir%2Fsub%20key" is the key "dir/sub key" and "..%2F..%2Fx" is the key
// "../../x", never another route. Keys in JSON bodies are plain strings.
// Keys are listed in byte order of their names.
//
// A value write whose body is multipart/form-data is streamed part by part:
// part "value" (a plain field or a file) is required, part "metadata" is
// optional JSON; the body must end with its closing boundary. Any other body
// is the raw value, whatever its Content-Type (application/octet-stream,
// text/plain, */* or none).
//
// # Request syntax
//
// The JSON bodies (namespace create and rename, bulk write, delete and get)
// are read as JSON whatever their Content-Type (none, text/plain, a form
// type), as Cloudflare's API most likely does (uncertain), but strictly as
// the schema spells them: the body must be valid UTF-8 (a stray byte is
// refused rather than stored as U+FFFD, which would write another key);
// member names match exactly ("Key" is an unknown member, not "key");
// unknown members are ignored and a repeated member's last value wins, null
// included; expiration and expiration_ttl must be JSON numbers, not strings;
// nothing may follow the value. An escaped lone surrogate ("\ud800") is
// valid JSON and decodes to U+FFFD, as a JavaScript service storing the
// string as UTF-8 would. Metadata must be UTF-8 JSON in a multipart body
// too.
//
// Unknown query parameters are ignored, as Cloudflare's API appears to
// (uncertain); a query string that cannot be decoded (bad percent-encoding,
// a ";" separator) is refused rather than partly dropped. expiration and
// expiration_ttl are decimal numbers (Go's 0x1p6, inf, +60 or 1_000 are
// not). A path with bad percent-encoding never reaches the emulator:
// net/http answers it 400.
//
// # Authentication and accounts
//
// A request needs "Authorization: Bearer <token>" or the X-Auth-Email and
// X-Auth-Key pair, matching what WithAPIToken and WithAPIKey configured
// (DefaultAPIToken when neither is given). No credentials: 400, code 9106;
// credentials that match nothing: 401, code 10000. An account ID other than
// those given with WithAccount (DefaultAccountID by default) also gets 403,
// code 10000, as Cloudflare answers for accounts a token cannot see.
// Credentials are never echoed. Routing comes before authentication, so an
// unknown path is 400 (code 7003) even without credentials.
//
// # Account rate limit
//
// WithAPIRateLimit(n, per) enforces Cloudflare's account API rate limit
// (1,200 requests per 5 minutes per user or token, then 429 for 5 minutes);
// it is off by default. Each credential (a token, or a key and email pair)
// has its own budget, counted on the emulator's Clock:
//
//   - A window opens at the credential's first request counted in it and
//     lasts per; it admits n requests, and its budget is whole again when
//     it ends.
//   - The request after the n-th in a window is refused and starts a lockout
//     of per: until per has passed since that request, every request of the
//     credential is answered 429, code 971 "Please wait and consider
//     throttling your request speed", with Retry-After in whole seconds
//     until the lockout ends. Refused requests are not counted and do not
//     extend the lockout; the first request after it opens a new window.
//   - The check comes after routing and authentication and before the
//     account check, the body or any change: every authenticated request
//     counts, whatever its answer, and a refused write changes nothing.
//     Requests answered 400 (7003) or 405 by routing, 400 (9106) or 401 (10000)
//     by authentication, or by fault injection are not counted.
//   - Every counted response, success or error, the 429 included, carries
//     Ratelimit: "default";r=<remaining>;t=<seconds until the window or the
//     lockout ends> and Ratelimit-Policy: "default";q=<n>;w=<per in seconds>,
//     seconds rounded up. Uncounted responses carry neither.
//
// The budgets live in memory (with NewDurable too: a restart gives every
// credential a whole budget), one small record per accepted credential, so
// unknown tokens cannot grow them.
//
// # Limits and error codes
//
// Limits are checked as Cloudflare documents them; request bodies are capped
// with http.MaxBytesReader before they are read, and refused before reading
// when Content-Length already exceeds the cap (value writes: 25 MiB plus
// 64 KiB for multipart framing and metadata; bulk write and bulk delete:
// 100,000,000 bytes; other JSON bodies: 1 MiB).
//
// Memory follows what has arrived, not what a request announces: a value
// body is read into a buffer that grows with its bytes (64 KiB to start,
// whatever its Content-Length says). A bulk write is decoded as a stream but
// holds the pairs it has decoded until it applies them together, up to about
// its body's size; at most two bulk write bodies are read at a time, and
// others wait their turn without reading, so bulk writes hold at most about
// 200 MB between them (plus the garbage collector's headroom).
//
// Errors follow what Cloudflare's API is seen to answer. The contract keeps
// a table of answers captured from the live service, each with a
// confidence; the emulator matches every row marked sure or likely. The
// Evidence column below gives that confidence for each of the emulator's
// errors: sure or likely (from the table), uncertain (one weak or indirect
// source), or no evidence (the emulator's choice, in the same style). Where
// the status and the message are less sure than the code, it says so.
//
// Messages marked op: name the operation that failed, as Cloudflare's
// storage errors do ("get: 'key not found'"). The names seen in its answers
// are get (value read), metadata, put (value write), list keys, get
// namespace, bulk put, bulk remove keys (both bulk delete forms) and bulk
// get keys; the others are the emulator's (no evidence): remove (value
// delete), list namespaces, create namespace, rename namespace and remove
// namespace.
//
//	Status Code   Evidence      Meaning: message
//	400    9106   sure          no credentials: "Missing X-Auth-Key,
//	                            X-Auth-Email or Authorization headers"
//	401    10000  likely        credentials that match nothing:
//	                            "Authentication error"
//	403    10000  likely        an account the credentials cannot see:
//	                            "Authentication error"
//	429    971    likely        account rate limit (WithAPIRateLimit; with
//	                            Retry-After): "Please wait and consider
//	                            throttling your request speed"
//	400    7003   likely        unknown path: "Could not route to <path>,
//	       +7000                perhaps your object identifier is invalid?"
//	                            then "No route for that URI"; <path> is
//	                            the escaped path after /client/v4
//	405    7001   no evidence   a known path with another method: "Method
//	                            not allowed", with an Allow header
//	404    10009  sure          missing key (value or metadata read):
//	                            op: 'key not found'
//	404    10013  sure          missing namespace: op: 'namespace not found'
//	400    10014  sure (code),  title in use: "a namespace with this account
//	              likely        ID and title already exists"
//	400    10019  uncertain     title missing or empty: "request is missing
//	                            a title definition"; over 512 characters
//	                            too (no evidence)
//	400    10020  no evidence   key invalid: empty, over 512 bytes, "." or
//	                            "..", not UTF-8, bad percent-encoding; an
//	                            over-long key gets the Workers binding's
//	                            message (its 414 is uncertain for REST)
//	400    10012  sure (code)   bulk write over 10,000 pairs: op: 'received
//	                            <n> key/value pairs, but max allowed per
//	                            request is: 10000' (status: no evidence);
//	                            bulk delete over 10,000 keys likewise, "<n>
//	                            keys" (no evidence)
//	400    10022  likely (text) bulk get over 100 keys: op: 'You can request
//	                            a maximum of 100 keys' (code and status: no
//	                            evidence)
//	413    10024  sure (status) value over 25 MiB: "Value length of <n>
//	                            exceeds limit of 26214400." (code: no
//	                            evidence); a request body over its cap
//	                            (no evidence)
//	400    10025  no evidence   metadata over 1,024 bytes (compacted);
//	                            Cloudflare's backend is reported to answer
//	                            413 here (uncertain, not followed)
//	400    10147  likely        metadata not JSON (nor UTF-8): "metadata
//	                            must be valid json" (status: no evidence)
//	400    10027  no evidence   malformed body: bad JSON, not UTF-8, data
//	                            after the JSON value, missing fields, no
//	                            value part or closing boundary, bad base64,
//	                            bad bulk get type
//	400    10028  likely        key list limit below 10: "limit argument
//	                            must be at least 10"; over 1000 ("at most
//	                            1000") or not an integer ("must be an
//	                            integer"): the same code, no evidence for
//	                            the text
//	400    10029  likely        bulk get of a value that is not UTF-8 text,
//	                            whatever the type: the whole request fails,
//	                            op: 'At least one of the requested keys
//	                            corresponds to a non-text value' (status:
//	                            no evidence, 400 is a guess)
//	400    10031  no evidence   invalid namespace list parameter (per_page
//	                            not 1-1000, page below 1, order not
//	                            id|title, direction not asc|desc), or a
//	                            query string that cannot be decoded
//	400    10032  no evidence   invalid cursor
//	400    10033  likely        expiration at or before now: op: 'Invalid
//	                            expiration of <n>. Please specify integer
//	                            greater than the current number of seconds
//	                            since the UNIX epoch.'; other invalid
//	                            expirations and expiration_ttls (below)
//	                            get the same code (no evidence)
//	400    10034  no evidence   bulk get with type json of a value that is
//	                            not JSON: op: 'At least one of the requested
//	                            keys corresponds to a non-json value' (the
//	                            Workers binding's text)
//	429    10429  no evidence   injected rate limit (with Retry-After), see
//	                            Faults
//	500/503 10001 no evidence   injected server error, see Faults; also any
//	                            internal failure
//
// Codes 10028 and 10029 mean only what Cloudflare uses them for; the codes
// marked no evidence are this package's choice. Injected rate limits keep
// 10429, apart from the account rate limit's 971, which is what Cloudflare
// answers although it is below the schema's minimum code of 1000. Not
// emulated, so never answered: the daily free-plan quota (code 10048) and
// the one-write-per-second-per-key limit.
//
// Expirations: an absolute expiration at or before the clock's current
// second is refused with Cloudflare's message above; one less than 60
// seconds ahead with "Invalid expiration of <n>. Expiration times must be at
// least 60 seconds in the future."; an expiration_ttl below 60 with "Invalid
// expiration_ttl of 59. Expiration TTL must be at least 60." (both the
// Workers binding's texts, uncertain for REST, with the operation's name);
// values that are not non-negative whole numbers are refused too. When both
// are given, expiration_ttl wins and expiration is ignored. Entries whose
// expiration is at or before the clock's time are invisible to every read and
// list, and are removed lazily when a read or list meets them.
//
// # Choices where the contract is uncertain
//
//   - Deleting a namespace accepts no body, {} or any other body, and ignores it.
//   - Deleting a key that does not exist succeeds.
//   - A key without metadata reads as result null (likely, from the live
//     service).
//   - Bulk get returns null for missing keys, with and without withMetadata.
//     A value that is not valid UTF-8 fails the whole request (code 10029,
//     see above), and with type json so does one that is not JSON.
//   - Key lists scan at most limit stored entries per page, counting expired,
//     deleted and not yet visible ones, and return the visible ones among
//     them: a page can be short, or empty, while result_info.cursor is not.
//     The cursor is "" only on the last page. It is opaque (base64url of a
//     version byte and the last key scanned); a malformed one is 400.
//   - Keys may hold spaces and control characters; they must be valid UTF-8.
//   - The namespace list is ordered by id unless order=title is given, and
//     ascending unless direction=desc; result_info has page, per_page, count
//     and total_count (no total_pages, which the KV schema does not have).
//   - Bulk write and bulk delete validate every item first and fail the whole
//     request with 400 on the first bad one; unsuccessful_keys is always empty.
//   - Not emulated: jurisdictions, the one-write-per-second-per-key limit,
//     daily plan quotas, the 1,000-namespaces-per-account limit, namespaces
//     with supports_url_encoding false, and the retired analytics endpoints.
//
// # Time, consistency and faults
//
// Expiration, the consistency delay and the account rate limit follow the
// emulator's Clock (the system clock unless WithClock is given; NewFakeClock
// gives one tests move by hand). WithConsistencyDelay makes each write visible only after a delay, as
// real KV can take up to a minute to show a write: until then reads, lists
// and bulk gets see the previous version or the key's absence. WithFaults
// injects seeded 429s, 500/503s, dropped connections and latency before a
// request is handled; faulted requests change nothing; FaultStats counts them.
//
// # Request log
//
// WithLogger(l) logs one log/slog record per request once it is answered:
// method, escaped path, status, the error codes of an error envelope, body
// bytes in and out, duration, the kind of credential used ("token",
// "api_key" or "none", never the credential itself) and the Cf-Ray. It is
// off by default and costs nothing then. cmd/kvemulator's -log flag writes
// it to stderr as text or JSON; kvtest shows it when a test fails.
//
// # Storage and concurrency
//
// State is in memory: accounts hold namespaces, and each namespace keeps its
// keys in a B-tree (github.com/google/btree) ordered by key bytes, so a list
// page costs O(log n + page) and a million keys stay fast. One RWMutex guards
// the catalog of accounts and namespaces; each namespace has its own RWMutex
// for its keys; locks are taken in that order and never held while a
// response is written. Every change goes through four store methods (create,
// rename and delete a namespace; write keys), which hand it to a journal
// before applying it.
//
// # Persistence
//
// NewDurable(d) keeps the state in d, a Durable: a catalog of namespaces
// (account, ID, title) and, per namespace, one record per key holding its
// value, metadata, expiration and, in eventual-consistency mode, its pending
// versions. The emulator decides what the records hold and d stores them:
// each change is committed to d (and synced) before it is applied in memory
// and answered, changes made concurrently sharing one commit, so an
// acknowledged write is never lost and concurrent writers do not wait for
// one sync each; a change that cannot be committed fails with 500 and
// changes nothing. NewDurable loads d into the B-trees in one pass, dropping
// entries that have expired, so the new emulator has the same namespaces,
// IDs, titles, keys, order, metadata and expirations. Close closes d once
// pending changes are committed (and does nothing for an in-memory
// Emulator); stop serving before calling it. The kvemulator command's -data
// DIR is a Durable over a bbolt file, DIR/kv.db; it is not part of this
// module, so that the library's users do not link a database.
package emulator
