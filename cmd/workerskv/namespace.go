package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv"
)

// namespaceJSON is a namespace in --json output, with wrangler's field names.
type namespaceJSON struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

func toNamespaceJSON(ns *workerskv.Namespace) namespaceJSON {
	return namespaceJSON{ID: ns.ID, Title: ns.Title, SupportsURLEncoding: ns.SupportsURLEncoding}
}

func (a *app) namespaceCommand() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's namespaces",
		Args:  cobra.NoArgs,
		RunE:  runE(a.namespaceList),
	}
	create := &cobra.Command{
		Use:   "create TITLE",
		Short: "Create a namespace",
		Args:  exactArgs("TITLE"),
		RunE:  runE(a.namespaceCreate),
	}
	rename := &cobra.Command{
		Use:   "rename ID TITLE",
		Short: "Give a namespace a new title",
		Args:  exactArgs("ID", "TITLE"),
		RunE:  runE(a.namespaceRename),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a namespace and every key in it",
		Args:  exactArgs("ID"),
		RunE:  runE(a.namespaceDelete),
	}
	return group("namespace", "Manage namespaces", list, create, rename, del)
}

func (a *app) namespaceList(cmd *cobra.Command, _ []string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	all := []namespaceJSON{}
	for ns, err := range c.Namespaces.All(cmd.Context(), &workerskv.ListNamespacesOptions{PerPage: 100}) {
		if err != nil {
			return fail("list namespaces", err)
		}
		all = append(all, toNamespaceJSON(&ns))
	}
	if a.jsonOut {
		return a.printJSON(all)
	}
	t := newTable(a.stdout, "ID", "TITLE")
	for _, ns := range all {
		t.row(ns.ID, ns.Title)
	}
	return t.flush()
}

func (a *app) namespaceCreate(cmd *cobra.Command, args []string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ns, err := c.Namespaces.Create(cmd.Context(), args[0])
	if err != nil {
		return fail(fmt.Sprintf("create namespace %q", args[0]), err)
	}
	if a.jsonOut {
		return a.printJSON(toNamespaceJSON(ns))
	}
	a.say("Created namespace %q with ID %s", ns.Title, ns.ID)
	return nil
}

func (a *app) namespaceRename(cmd *cobra.Command, args []string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ns, err := c.Namespaces.Rename(cmd.Context(), args[0], args[1])
	if err != nil {
		return fail("rename namespace "+args[0], err)
	}
	if a.jsonOut {
		return a.printJSON(toNamespaceJSON(ns))
	}
	a.say("Renamed namespace %s to %q", ns.ID, ns.Title)
	return nil
}

func (a *app) namespaceDelete(cmd *cobra.Command, args []string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	if err := c.Namespaces.Delete(cmd.Context(), args[0]); err != nil {
		return fail("delete namespace "+args[0], err)
	}
	if a.jsonOut {
		return a.printJSON(map[string]any{"id": args[0], "deleted": true})
	}
	a.say("Deleted namespace %s", args[0])
	return nil
}

// nsFlags are --namespace-id and --namespace-title, one of which names the namespace a command
// works on.
type nsFlags struct{ id, title string }

func (f *nsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.id, "namespace-id", "", "the namespace's `ID`")
	cmd.Flags().StringVar(&f.title, "namespace-title", "", "the namespace's `TITLE`, looked up by listing the namespaces")
}

// resolve returns the namespace ID the flags name; a title is looked up by listing the account's
// namespaces.
func (f *nsFlags) resolve(ctx context.Context, c *workerskv.Client) (string, error) {
	switch {
	case f.id != "" && f.title != "":
		return "", usagef("give --namespace-id or --namespace-title, not both")
	case f.id != "":
		return f.id, nil
	case f.title == "":
		return "", usagef("give the namespace with --namespace-id ID or --namespace-title TITLE")
	}
	for ns, err := range c.Namespaces.All(ctx, &workerskv.ListNamespacesOptions{PerPage: 100}) {
		if err != nil {
			return "", fail(fmt.Sprintf("look up namespace %q", f.title), err)
		}
		if ns.Title == f.title {
			return ns.ID, nil
		}
	}
	return "", &notFoundError{fmt.Sprintf("no namespace titled %q in account %s (see workerskv namespace list)", f.title, c.AccountID())}
}

// namespace builds the client and resolves the namespace flags.
func (a *app) namespace(ctx context.Context, f *nsFlags) (*workerskv.Client, string, error) {
	// A usage mistake is reported before a missing credential.
	if (f.id == "") == (f.title == "") {
		_, err := f.resolve(ctx, nil)
		return nil, "", err
	}
	c, err := a.client()
	if err != nil {
		return nil, "", err
	}
	id, err := f.resolve(ctx, c)
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}
