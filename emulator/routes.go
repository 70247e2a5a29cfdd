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

	op    string      // the operation's name in scoped error messages (see withOp)
	inner handlerFunc // the endpoint's own handler, which handle calls
}

// endpoint maps the methods of one path pattern to their handlers. op names
// the operation in the messages of its scoped errors, as Cloudflare does:
// "get", "metadata", "put", "list keys", "get namespace", "bulk put",
// "bulk remove keys" and "bulk get keys" are seen in its answers; the
// others are the emulator's guess in the same style.
type endpoint []struct {
	method string
	op     string
	handle handlerFunc
}

var (
	namespacesEndpoint = endpoint{{http.MethodGet, "list namespaces", (*Emulator).listNamespaces}, {http.MethodPost, "create namespace", (*Emulator).createNamespace}}
	namespaceEndpoint  = endpoint{{http.MethodGet, "get namespace", (*Emulator).getNamespace}, {http.MethodPut, "rename namespace", (*Emulator).renameNamespace}, {http.MethodDelete, "remove namespace", (*Emulator).deleteNamespace}}
	keysEndpoint       = endpoint{{http.MethodGet, "list keys", (*Emulator).listKeys}}
	valuesEndpoint     = endpoint{{http.MethodGet, "get", (*Emulator).getValue}, {http.MethodPut, "put", (*Emulator).putValue}, {http.MethodDelete, "remove", (*Emulator).deleteValue}}
	metadataEndpoint   = endpoint{{http.MethodGet, "metadata", (*Emulator).getMetadata}}
	bulkEndpoint       = endpoint{{http.MethodPut, "bulk put", (*Emulator).bulkWrite}, {http.MethodDelete, "bulk remove keys", (*Emulator).bulkDelete}}
	bulkDeleteEndpoint = endpoint{{http.MethodPost, "bulk remove keys", (*Emulator).bulkDelete}}
	bulkGetEndpoint    = endpoint{{http.MethodPost, "bulk get keys", (*Emulator).bulkGet}}
)

// scopedHandle runs the route's own handler and names its operation in the
// message of a scoped error.
func scopedHandle(e *Emulator, w http.ResponseWriter, r *http.Request, rt *route) error {
	return withOp(rt.op, rt.inner(e, w, r, rt))
}

// matchRoute finds the endpoint of r from its escaped path, so a %2F inside
// a key never changes the route. The key segment is left encoded; handlers
// decode it once. A trailing slash is tolerated except after a key. For a
// known path with a method it does not serve, the Allow header is set on w.
func matchRoute(w http.ResponseWriter, r *http.Request) (*route, *apiError) {
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return nil, errNoRoute(path)
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 4 || segs[1] != "storage" || segs[2] != "kv" || segs[3] != "namespaces" {
		return nil, errNoRoute(path)
	}
	account, err := url.PathUnescape(segs[0])
	if err != nil || account == "" {
		return nil, errNoRoute(path)
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
			return nil, errNoRoute(path)
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
		return nil, errNoRoute(path)
	}
	allowed := make([]string, 0, len(ep))
	for _, m := range ep {
		if m.method == r.Method {
			rt.handle, rt.inner, rt.op = scopedHandle, m.handle, m.op
			return rt, nil
		}
		allowed = append(allowed, m.method)
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return nil, errMethodNotAllowed
}
