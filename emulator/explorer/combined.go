package explorer

import (
	"net/http"
	"strings"
)

// apiPath is where the KV REST API's paths begin.
const apiPath = "/client/v4"

// Combined returns one handler for an API and its explorer: requests for
// /client/v4 and below go to api unchanged, every other request to
// New(api, opts...). It is what the kvemulator command serves; use it to
// give an emulator of your own a browser view:
//
//	srv := httptest.NewServer(explorer.Combined(e, explorer.WithClock(clock)))
//	// API base URL: srv.URL + "/client/v4"; explorer: srv.URL + "/"
func Combined(api http.Handler, opts ...Option) http.Handler {
	x := New(api, opts...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == apiPath || strings.HasPrefix(p, apiPath+"/") {
			api.ServeHTTP(w, r)
			return
		}
		x.ServeHTTP(w, r)
	})
}
