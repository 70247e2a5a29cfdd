package emulator

import (
	"net/http"
	"net/url"
	"strings"
)

// apiPrefix is where every KV route starts.
const apiPrefix = "/client/v4/accounts/"

// handlerFunc serves one endpoint. A returned error is answered with the
// failure envelope.
type handlerFunc func(e *Emulator, w http.ResponseWriter, r *http.Request, rt *route) error

// route is a matched request: the path parameters and the endpoint's handler.
type route struct {
	account   string
	namespace string
	keySeg    string // the key's path segment, still percent-encoded
	handle    handlerFunc
}

// endpoint maps the methods of one path pattern to their handlers.
type endpoint []struct {
	method string
	handle handlerFunc
}

var (
	namespacesEndpoint = endpoint{{http.MethodGet, (*Emulator).listNamespaces}, {http.MethodPost, (*Emulator).createNamespace}}
	namespaceEndpoint  = endpoint{{http.MethodGet, (*Emulator).getNamespace}, {http.MethodPut, (*Emulator).renameNamespace}, {http.MethodDelete, (*Emulator).deleteNamespace}}
	keysEndpoint       = endpoint{{http.MethodGet, (*Emulator).listKeys}}
	valuesEndpoint     = endpoint{{http.MethodGet, (*Emulator).getValue}, {http.MethodPut, (*Emulator).putValue}, {http.MethodDelete, (*Emulator).deleteValue}}
	metadataEndpoint   = endpoint{{http.MethodGet, (*Emulator).getMetadata}}
	bulkEndpoint       = endpoint{{http.MethodPut, (*Emulator).bulkWrite}, {http.MethodDelete, (*Emulator).bulkDelete}}
	bulkDeleteEndpoint = endpoint{{http.MethodPost, (*Emulator).bulkDelete}}
	bulkGetEndpoint    = endpoint{{http.MethodPost, (*Emulator).bulkGet}}
)

// matchRoute finds the endpoint of r from its escaped path, so a %2F inside
// a key never changes the route. The key segment is left encoded; handlers
// decode it once. A trailing slash is tolerated except after a key. For a
// known path with a method it does not serve, the Allow header is set on w.
func matchRoute(w http.ResponseWriter, r *http.Request) (*route, *apiError) {
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return nil, errNoRoute
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 4 || segs[1] != "storage" || segs[2] != "kv" || segs[3] != "namespaces" {
		return nil, errNoRoute
	}
	account, err := url.PathUnescape(segs[0])
	if err != nil || account == "" {
		return nil, errNoRoute
	}
	tail := segs[4:]
	isKeyRoute := len(tail) == 3 && (tail[1] == "values" || tail[1] == "metadata")
	if n := len(tail); n > 0 && tail[n-1] == "" && !isKeyRoute {
		tail = tail[:n-1]
	}
	rt := &route{account: account}
	var ep endpoint
	if len(tail) > 0 {
		ns, err := url.PathUnescape(tail[0])
		if err != nil || ns == "" {
			return nil, errNoRoute
		}
		rt.namespace = ns
	}
	switch {
	case len(tail) == 0:
		ep = namespacesEndpoint
	case len(tail) == 1:
		ep = namespaceEndpoint
	case len(tail) == 2 && tail[1] == "keys":
		ep = keysEndpoint
	case len(tail) == 2 && tail[1] == "bulk":
		ep = bulkEndpoint
	case len(tail) == 3 && tail[1] == "bulk" && tail[2] == "delete":
		ep = bulkDeleteEndpoint
	case len(tail) == 3 && tail[1] == "bulk" && tail[2] == "get":
		ep = bulkGetEndpoint
	case isKeyRoute && tail[1] == "values":
		ep, rt.keySeg = valuesEndpoint, tail[2]
	case isKeyRoute && tail[1] == "metadata":
		ep, rt.keySeg = metadataEndpoint, tail[2]
	default:
		return nil, errNoRoute
	}
	allowed := make([]string, 0, len(ep))
	for _, m := range ep {
		if m.method == r.Method {
			rt.handle = m.handle
			return rt, nil
		}
		allowed = append(allowed, m.method)
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return nil, errMethodNotAllowed
}
