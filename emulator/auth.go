package emulator

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authenticate checks a request's credentials the way Cloudflare does: a
// bearer token in Authorization, or the X-Auth-Key and X-Auth-Email pair.
// No usable credentials give 400 (code 9106); credentials that match nothing
// give 401 (code 10000), as Cloudflare answers an unknown token. Credentials
// are never quoted back.
//
// On success it returns which configured credential the request used, as a
// key for the rate limiter: the token when the bearer token is accepted
// (it is tried first), else the configured key and email pair, so that
// spellings of the email that differ only in case are one credential.
func (e *Emulator) authenticate(h http.Header) (string, *apiError) {
	authz := h.Get("Authorization")
	key, email := h.Get("X-Auth-Key"), h.Get("X-Auth-Email")
	if authz == "" && (key == "" || email == "") {
		return "", errMissingAuth
	}
	if authz != "" {
		if token, ok := bearerToken(authz); ok && e.tokenAccepted(token) {
			return "token\x00" + token, nil
		}
	}
	if key != "" && email != "" {
		if k, ok := e.keyAccepted(key, email); ok {
			return "key\x00" + k.key + "\x00" + k.email, nil
		}
	}
	return "", errBadCredentials
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" value.
func bearerToken(v string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (e *Emulator) tokenAccepted(token string) bool {
	ok := 0
	for _, t := range e.cfg.tokens {
		ok |= subtle.ConstantTimeCompare([]byte(t), []byte(token))
	}
	return ok == 1
}

// keyAccepted reports whether a configured pair matches key and email, and
// returns the first one that does.
func (e *Emulator) keyAccepted(key, email string) (apiKey, bool) {
	var found apiKey
	ok := false
	for _, k := range e.cfg.keys {
		if strings.EqualFold(k.email, email) && subtle.ConstantTimeCompare([]byte(k.key), []byte(key)) == 1 && !ok {
			found, ok = k, true
		}
	}
	return found, ok
}
