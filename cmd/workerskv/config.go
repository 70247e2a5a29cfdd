package main

import (
	"errors"

	"github.com/workerskv/workerskv"
)

// The environment variables the command reads, as wrangler and workerskv.NewClientFromEnv do.
const (
	envToken     = "CLOUDFLARE_API_TOKEN"
	envAPIKey    = "CLOUDFLARE_API_KEY"
	envEmail     = "CLOUDFLARE_EMAIL"
	envAccountID = "CLOUDFLARE_ACCOUNT_ID"
	envBaseURL   = "CLOUDFLARE_API_BASE_URL"
	// envBaseURLAlt is the name Cloudflare's official Go SDK reads; the library reads it too.
	envBaseURLAlt = "CLOUDFLARE_BASE_URL"
)

// client builds the API client from the environment and the global flags. The environment is read
// through a.getenv rather than by workerskv.NewClientFromEnv, so that tests can run the command
// in-process with their own environment; the variables and their precedence are the library's.
func (a *app) client() (*workerskv.Client, error) {
	token, key, email := a.getenv(envToken), a.getenv(envAPIKey), a.getenv(envEmail)
	opts := []workerskv.Option{workerskv.WithUserAgent("workerskv-cli/" + workerskv.Version)}
	switch {
	case token != "" && key != "":
		return nil, errors.New("both " + envToken + " and " + envAPIKey + " are set: unset one")
	case token != "":
		opts = append(opts, workerskv.WithAPIToken(token))
	case key != "" && email == "":
		return nil, errors.New(envAPIKey + " is set without " + envEmail + ": set both, or set " + envToken + " instead")
	case key != "":
		opts = append(opts, workerskv.WithAPIKey(key, email))
	default:
		return nil, errors.New("no credentials: set " + envToken + " (or " + envAPIKey + " and " + envEmail + ")")
	}
	account := a.accountID
	if account == "" {
		account = a.getenv(envAccountID)
	}
	if account == "" {
		return nil, errors.New("no account: set " + envAccountID + " or pass --account-id")
	}
	opts = append(opts, workerskv.WithAccountID(account))
	base := a.baseURL
	if base == "" {
		base = a.getenv(envBaseURL)
	}
	if base == "" {
		base = a.getenv(envBaseURLAlt)
	}
	if base != "" {
		opts = append(opts, workerskv.WithBaseURL(base))
	}
	if a.retriesSet() {
		opts = append(opts, workerskv.WithMaxRetries(retryCount(a.retries)))
	}
	c, err := workerskv.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// retryCount converts --retries or --resends (0 or less means none) to the library's convention (0 means the
// default, workerskv.NoRetries none).
func retryCount(n int) int {
	if n <= 0 {
		return workerskv.NoRetries
	}
	return n
}

// bulkOptions are the options of a bulk job: --resends bounds how often keys the API reports
// unsuccessful are sent again. --retries, which bounds how often one failed request is sent again,
// is the client's (see newClient); the two are set apart, so that one key is sent at most
// (retries+1)*(resends+1) times only when both are asked for.
func (a *app) bulkOptions(progress func(workerskv.BulkProgress)) *workerskv.BulkOptions {
	o := &workerskv.BulkOptions{Progress: progress}
	if a.root != nil && a.root.PersistentFlags().Changed("resends") {
		o.Resends = retryCount(a.resends)
	}
	return o
}

// retriesSet reports whether --retries was given; without it the library's defaults apply.
func (a *app) retriesSet() bool {
	return a.root != nil && a.root.PersistentFlags().Changed("retries")
}
