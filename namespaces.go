package workerskv

import (
	"context"
	"iter"
	"net/http"
)

// NamespacesService manages the account's KV namespaces. Use it through [Client.Namespaces].
type NamespacesService service

// Namespace is a Workers KV namespace.
type Namespace struct {
	// ID is the namespace's identifier, used by every other call.
	ID string `json:"id"`
	// Title is the namespace's human-readable name, unique within the account.
	Title string `json:"title"`
	// SupportsURLEncoding reports whether key names in URLs are percent-decoded by the server. It is
	// true for every namespace created since 2020; this client always escapes key names.
	SupportsURLEncoding bool `json:"supports_url_encoding"`
}

// ListNamespacesOptions selects and orders a page of namespaces. The zero value asks for the first
// page of 20, in the server's default order.
type ListNamespacesOptions struct {
	// Page is the 1-based page number (default 1).
	Page int `url:"page,omitempty"`
	// PerPage is the page size, 1–1000 (default 20).
	PerPage int `url:"per_page,omitempty"`
	// Order sorts by ID or title: [OrderByID] or [OrderByTitle] (the API's default when empty).
	Order NamespaceOrder `url:"order,omitempty"`
	// Direction is [Ascending] or [Descending] (the API's default when empty).
	Direction SortDirection `url:"direction,omitempty"`
}

// NamespaceOrder is what [NamespacesService.List] sorts namespaces by.
type NamespaceOrder string

// The orders the API accepts.
const (
	OrderByID    NamespaceOrder = "id"
	OrderByTitle NamespaceOrder = "title"
)

// SortDirection is the direction of a sorted listing.
type SortDirection string

// The directions the API accepts.
const (
	Ascending  SortDirection = "asc"
	Descending SortDirection = "desc"
)

// NamespacePage is one page of namespaces.
type NamespacePage struct {
	Namespaces []Namespace
	// Page, PerPage, Count and TotalCount are the server's paging figures.
	Page, PerPage, Count, TotalCount int
}

// HasMore reports whether pages after this one hold more namespaces.
func (p *NamespacePage) HasMore() bool {
	if p.TotalCount > 0 && p.PerPage > 0 {
		return p.Page*p.PerPage < p.TotalCount
	}
	return p.PerPage > 0 && len(p.Namespaces) >= p.PerPage
}

// List returns one page of namespaces (GET /accounts/{account_id}/storage/kv/namespaces).
// opts may be nil.
func (s *NamespacesService) List(ctx context.Context, opts *ListNamespacesOptions) (*NamespacePage, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodGet, segments: s.client.nsPath()}
	if opts != nil {
		r.query = opts
	}
	items, info, err := call[[]Namespace](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	p := &NamespacePage{Namespaces: items}
	if info != nil {
		p.Page, p.PerPage, p.Count, p.TotalCount = info.Page, info.PerPage, info.Count, info.TotalCount
	}
	return p, nil
}

// All iterates over every namespace, fetching pages lazily from opts.Page (default 1) on. Ranging over
// it again starts over; it yields the first error and stops; it makes no request after a break.
func (s *NamespacesService) All(ctx context.Context, opts *ListNamespacesOptions) iter.Seq2[Namespace, error] {
	var o ListNamespacesOptions
	if opts != nil {
		o = *opts
	}
	return pageNumberSeq(ctx, o.Page, func(ctx context.Context, page int) ([]Namespace, bool, error) {
		po := o
		po.Page = page
		p, err := s.List(ctx, &po)
		if err != nil {
			return nil, false, err
		}
		return p.Namespaces, p.HasMore(), nil
	})
}

type titleBody struct {
	Title string `json:"title"`
}

// Create creates a namespace with the given title (POST /accounts/{account_id}/storage/kv/namespaces).
// A title already in use gives an error matching [ErrConflict]. Creation is not idempotent, so it is
// retried only when the request never reached the server, or on HTTP 429.
func (s *NamespacesService) Create(ctx context.Context, title string) (*Namespace, error) {
	body, err := titleRequest(title)
	if err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPost, segments: s.client.nsPath(), body: body, contentType: "application/json", unsentOnly: true}
	return callNamespace(ctx, s.client, r)
}

// Get returns one namespace (GET /accounts/{account_id}/storage/kv/namespaces/{namespace_id}).
func (s *NamespacesService) Get(ctx context.Context, namespaceID string) (*Namespace, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	return callNamespace(ctx, s.client, &request{method: http.MethodGet, segments: s.client.nsPath(namespaceID)})
}

// Rename changes a namespace's title (PUT /accounts/{account_id}/storage/kv/namespaces/{namespace_id})
// and returns the namespace.
func (s *NamespacesService) Rename(ctx context.Context, namespaceID, title string) (*Namespace, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	body, err := titleRequest(title)
	if err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPut, segments: s.client.nsPath(namespaceID), body: body, contentType: "application/json"}
	ns, err := callNamespace(ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	if ns.ID == "" { // older servers answer with a null result
		ns = &Namespace{ID: namespaceID, Title: title, SupportsURLEncoding: true}
	}
	return ns, nil
}

// Delete removes a namespace and every key in it
// (DELETE /accounts/{account_id}/storage/kv/namespaces/{namespace_id}).
func (s *NamespacesService) Delete(ctx context.Context, namespaceID string) error {
	if err := validateNamespaceID(namespaceID); err != nil {
		return err
	}
	err := callNoResult(ctx, s.client, &request{method: http.MethodDelete, segments: s.client.nsPath(namespaceID)})
	return err
}

func callNamespace(ctx context.Context, c *Client, r *request) (*Namespace, error) {
	ns, _, err := call[*Namespace](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if ns == nil {
		ns = &Namespace{}
	}
	return ns, nil
}

func titleRequest(title string) ([]byte, error) {
	if err := validateTitle(title); err != nil {
		return nil, err
	}
	return jsonBody(titleBody{Title: title})
}
