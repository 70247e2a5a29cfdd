package emulator

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"slices"
)

// namespaceJSON is the Namespace object of the API.
type namespaceJSON struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

func toJSON(ns namespaceInfo) namespaceJSON {
	return namespaceJSON{ID: ns.ID, Title: ns.Title, SupportsURLEncoding: true}
}

// pageInfo is the result_info of the namespace list.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
}

// titleBody is the body of create and rename.
type titleBody struct {
	Title *string `json:"title"`
}

func (b *titleBody) field(name string) any {
	if name == "title" {
		return &b.Title
	}
	return nil
}

// decodeTitle reads the body of create and rename.
func decodeTitle(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	var body titleBody
	if err := decodeJSONObject(w, r, maxJSONBodyBytes, body.field, `Request body is not valid JSON of the expected shape, {"title": string}.`); err != nil {
		return "", err
	}
	if err := validateTitle(body.Title); err != nil {
		return "", err
	}
	return *body.Title, nil
}

// listNamespaces serves GET NS: page-number paging, ordered by id (the
// default) or title, ascending (the default) or descending.
func (e *Emulator) listNamespaces(w http.ResponseWriter, r *http.Request, rt *route) error {
	q := r.URL.Query()
	page, err := intParam(q, "page", 1, 1, math.MaxInt)
	if err != nil {
		return err
	}
	perPage, err := intParam(q, "per_page", defaultPerPage, 1, maxPerPage)
	if err != nil {
		return err
	}
	order, direction := q.Get("order"), q.Get("direction")
	if order != "" && order != "id" && order != "title" {
		return badRequest(codeInvalidParam, "Invalid order %q: it must be id or title.", clip(order))
	}
	if direction != "" && direction != "asc" && direction != "desc" {
		return badRequest(codeInvalidParam, "Invalid direction %q: it must be asc or desc.", clip(direction))
	}
	all := e.store.listNamespaces(rt.account)
	slices.SortFunc(all, func(a, b namespaceInfo) int {
		c := cmp.Compare(a.ID, b.ID)
		if order == "title" {
			c = cmp.Or(cmp.Compare(a.Title, b.Title), c)
		}
		if direction == "desc" {
			c = -c
		}
		return c
	})
	out := []namespaceJSON{}
	if pages := (len(all) + perPage - 1) / perPage; page-1 < pages {
		start := (page - 1) * perPage
		for _, ns := range all[start:min(start+perPage, len(all))] {
			out = append(out, toJSON(ns))
		}
	}
	writeResult(w, out, pageInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: len(all)})
	return nil
}

// createNamespace serves POST NS.
func (e *Emulator) createNamespace(w http.ResponseWriter, r *http.Request, rt *route) error {
	title, err := decodeTitle(w, r)
	if err != nil {
		return err
	}
	for {
		ns, err := e.store.createNamespace(rt.account, newNamespaceID(), title)
		if errors.Is(err, errIDTaken) {
			continue
		}
		if err != nil {
			return err
		}
		writeResult(w, toJSON(ns), nil)
		return nil
	}
}

// getNamespace serves GET NS/{namespace_id}.
func (e *Emulator) getNamespace(w http.ResponseWriter, r *http.Request, rt *route) error {
	ns, err := e.store.namespaceInfo(rt.account, rt.namespace)
	if err != nil {
		return err
	}
	writeResult(w, toJSON(ns), nil)
	return nil
}

// renameNamespace serves PUT NS/{namespace_id}; the result is the renamed
// namespace, as the current schema requires.
func (e *Emulator) renameNamespace(w http.ResponseWriter, r *http.Request, rt *route) error {
	if _, err := e.store.namespaceInfo(rt.account, rt.namespace); err != nil {
		return err
	}
	title, aerr := decodeTitle(w, r)
	if aerr != nil {
		return aerr
	}
	ns, err := e.store.renameNamespace(rt.account, rt.namespace, title)
	if err != nil {
		return err
	}
	writeResult(w, toJSON(ns), nil)
	return nil
}

// deleteNamespace serves DELETE NS/{namespace_id}. Any body, or none, is
// accepted and ignored.
func (e *Emulator) deleteNamespace(w http.ResponseWriter, r *http.Request, rt *route) error {
	if err := e.store.deleteNamespace(rt.account, rt.namespace); err != nil {
		return err
	}
	writeResult(w, nil, nil)
	return nil
}
