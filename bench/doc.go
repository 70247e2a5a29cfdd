// Package bench compares workerskv with Cloudflare's official Go SDKs (cloudflare-go v7, generated, and
// cloudflare-go v0.119, legacy) and hand-written net/http code on the same Workers KV work. It is a
// separate module so that the other clients never enter workerskv's go.mod. Everything lives in the
// _test.go files; see README.md.
package bench
