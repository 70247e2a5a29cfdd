package workerskv

import (
	"errors"
	"os"
)

// NewClientFromEnv is like [NewClient], with defaults read from the environment:
// CLOUDFLARE_API_TOKEN, or CLOUDFLARE_API_KEY with CLOUDFLARE_EMAIL, for credentials;
// CLOUDFLARE_ACCOUNT_ID for the account; CLOUDFLARE_API_BASE_URL (or CLOUDFLARE_BASE_URL, which
// Cloudflare's official SDK reads) for the base URL. Options given explicitly win over the environment;
// a credential option replaces the environment's credentials as a whole.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.authOptions == 0 {
		token, key, email := os.Getenv("CLOUDFLARE_API_TOKEN"), os.Getenv("CLOUDFLARE_API_KEY"), os.Getenv("CLOUDFLARE_EMAIL")
		switch {
		case token != "" && key != "":
			return nil, errors.New("workerskv: both CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_KEY are set: unset one")
		case token != "":
			cfg.token = token
		case key != "":
			if email == "" {
				return nil, errors.New("workerskv: CLOUDFLARE_API_KEY is set without CLOUDFLARE_EMAIL")
			}
			cfg.apiKey, cfg.email = key, email
		}
	}
	if cfg.accountID == "" {
		cfg.accountID = os.Getenv("CLOUDFLARE_ACCOUNT_ID")
	}
	if !cfg.baseURLSet {
		if u := os.Getenv("CLOUDFLARE_API_BASE_URL"); u != "" {
			cfg.baseURL = u
		} else if u := os.Getenv("CLOUDFLARE_BASE_URL"); u != "" {
			cfg.baseURL = u
		}
	}
	return newClient(&cfg)
}
