// Command workerskv operates Cloudflare Workers KV from the command line: namespaces, single keys,
// bulk jobs from wrangler's bulk files, backups of a namespace as JSON Lines, and the local KV
// emulator, in one Go binary. Its commands have wrangler's shape, so habits carry over:
//
//	go install github.com/workerskv/workerskv/cmd/workerskv@latest
//
//	workerskv namespace list | create TITLE | rename ID TITLE | delete ID
//	workerskv key list   --namespace-id ID [--prefix P] [--limit N]
//	workerskv key get    KEY --namespace-id ID [--text] [--metadata]
//	workerskv key put    KEY [VALUE] --namespace-id ID [--path FILE] [--ttl SECONDS] [--expiration UNIX] [--metadata JSON]
//	workerskv key delete KEY --namespace-id ID
//	workerskv bulk put | get | delete FILE --namespace-id ID
//	workerskv export --namespace-id ID [--prefix P] [-o FILE]
//	workerskv import FILE --namespace-id ID
//	workerskv emulator [-addr 127.0.0.1:8787] [-data DIR]
//
// --namespace-title TITLE may be given wherever --namespace-id is; the title is looked up by listing
// the account's namespaces. key put reads the value from stdin when neither VALUE nor --path is
// given. bulk put reads wrangler's bulk file, a JSON array of {"key", "value", "expiration",
// "expiration_ttl", "metadata", "base64"}; bulk get and bulk delete read an array of key strings or
// of objects with "key". export writes, and import reads, the JSON Lines format of the library's
// Bulk.Export and Bulk.Import. A FILE of "-" is stdin (or, for export -o, stdout). Bulk files and
// backups are checked through before anything is sent, and streamed, so they need not fit in memory.
// workerskv emulator runs the same server as the kvemulator command, with the same flags.
//
// # Environment
//
// Credentials and endpoint are read as wrangler and workerskv.NewClientFromEnv read them:
//
//	CLOUDFLARE_API_TOKEN      an API token (Workers KV Storage Read, and Write for changes)
//	CLOUDFLARE_API_KEY        or a global API key, with
//	CLOUDFLARE_EMAIL          the account's email
//	CLOUDFLARE_ACCOUNT_ID     the account; --account-id overrides it
//	CLOUDFLARE_API_BASE_URL   the API base URL (CLOUDFLARE_BASE_URL is read too); --base-url
//	                          overrides it. Point it at the emulator: http://127.0.0.1:8787/client/v4
//
// # Output
//
// Results are human-readable tables and messages on stdout by default; --json writes one JSON
// document on stdout instead, with stable field names (wrangler's where wrangler has them). key get
// writes the value byte for byte. Errors are one line on stderr, with Cloudflare's error code, the
// HTTP status and the cf-ray ID when the API gave them. bulk put, bulk delete, export and import show
// a progress bar on stderr (items done, total when known, rate, time left) when stderr is a
// terminal, and nothing when it is not, or with --quiet or --json. --retries N sets how many times a
// failed request is retried (default 4); --resends N how many times a bulk job sends again the keys
// the API reports unsuccessful (default 3).
//
// # Exit status
//
//	0    success
//	1    error (API, network, file, configuration)
//	2    usage: a malformed command line
//	3    not found: a key, a namespace ID or a namespace title
//	4    partial bulk failure: some keys were not written or deleted; they are listed on stderr
//	     (all of them with --json, on stdout), with the counts succeeded, unsuccessful, unconfirmed
//	130  interrupted by Ctrl-C: a bulk job stops, and what was and was not confirmed is reported
//	     as for status 4
package main
