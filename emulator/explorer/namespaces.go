package explorer

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/workerskv/workerskv"
)

// namespacesPerPage is how many namespaces one page of the list shows.
const namespacesPerPage = 50

// namespacesData is the namespaces page's template data.
type namespacesData struct {
	Namespaces []nsRow
	Page       int
	PrevLink   string
	NextLink   string
	Total      int
}

type nsRow struct {
	ID, Title string
	Link      string
}

// namespacesPage lists the account's namespaces, a page at a time.
func (x *Explorer) namespacesPage(w http.ResponseWriter, r *http.Request, s *caller) {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	ctx, cancel := ctxFor(r)
	defer cancel()
	p, err := s.client.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{
		Page: page, PerPage: namespacesPerPage, Order: workerskv.OrderByTitle, Direction: workerskv.Ascending,
	})
	if err != nil {
		x.fail(w, r, err)
		return
	}
	d := namespacesData{Page: page, Total: p.TotalCount}
	for _, ns := range p.Namespaces {
		d.Namespaces = append(d.Namespaces, nsRow{ID: ns.ID, Title: ns.Title, Link: x.nsLink(ns.ID, "")})
	}
	if page > 1 {
		d.PrevLink = x.link("", "page", strconv.Itoa(page-1))
	}
	if p.HasMore() {
		d.NextLink = x.link("", "page", strconv.Itoa(page+1))
	}
	x.render(w, r, http.StatusOK, "namespaces", "Namespaces", d)
}

// formValue reads one field of a form without file uploads (a body of at
// most 2 MiB: a selection of a thousand long key names fits).
func formValue(w http.ResponseWriter, r *http.Request, name string) string {
	if r.PostForm == nil {
		r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
		_ = r.ParseForm()
	}
	return r.PostFormValue(name)
}

func (x *Explorer) createNamespace(w http.ResponseWriter, r *http.Request, s *caller) {
	title := strings.TrimSpace(formValue(w, r, "title"))
	ctx, cancel := ctxFor(r)
	defer cancel()
	ns, err := s.client.Namespaces.Create(ctx, title)
	if err != nil {
		x.done(w, r, x.link(""), err, "")
		return
	}
	x.done(w, r, x.nsLink(ns.ID, ""), nil, "Created namespace %q.", ns.Title)
}

func (x *Explorer) renameNamespace(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	title := strings.TrimSpace(formValue(w, r, "title"))
	back := formValue(w, r, "back")
	ctx, cancel := ctxFor(r)
	defer cancel()
	ns, err := s.client.Namespaces.Rename(ctx, id, title)
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	x.done(w, r, back, nil, "Renamed the namespace to %q.", ns.Title)
}

func (x *Explorer) deleteNamespace(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	ctx, cancel := ctxFor(r)
	defer cancel()
	if err := s.client.Namespaces.Delete(ctx, id); err != nil {
		x.done(w, r, formValue(w, r, "back"), err, "")
		return
	}
	x.done(w, r, x.link(""), nil, "Deleted namespace %s.", id)
}
