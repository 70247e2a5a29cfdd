// Command export-import shows a namespace backup and restore with workerskv: it fills a namespace
// with sample keys (text and binary values, metadata, expirations) through the bulk API, exports it
// to a JSON Lines file, imports the file into a second namespace, checks that the copy exports to the
// same bytes, and deletes everything it created. Progress goes to stderr.
//
// With CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID set it uses the real Cloudflare API; without
// them it starts the KV emulator in-process on loopback, so it runs anywhere with no set-up:
//
//	go run ./examples/export-import
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/examples/internal/connect"
)

const sampleKeys = 5_000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "export-import:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	c, stop, err := connect.Client()
	if err != nil {
		return err
	}
	defer stop()

	stamp := time.Now().UnixNano()
	src, err := createNamespace(ctx, c, fmt.Sprintf("workerskv-backup-source-%d", stamp))
	if err != nil {
		return err
	}
	defer deleteNamespace(ctx, c, src)

	// 1. Fill the source namespace through the bulk API.
	res, err := c.Bulk.Put(ctx, src.ID, samplePairs(), &workerskv.BulkOptions{Progress: progressLine("write")})
	endLine()
	if err != nil {
		return err
	}
	if len(res.Unsuccessful)+len(res.Unconfirmed) > 0 {
		return fmt.Errorf("sample data: %d keys not written", len(res.Unsuccessful)+len(res.Unconfirmed))
	}
	fmt.Printf("wrote %d sample keys to %q\n", res.Succeeded, src.Title)

	// 2. Back it up to a JSON Lines file.
	dir, err := os.MkdirTemp("", "workerskv-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	backup := filepath.Join(dir, "backup.jsonl")
	if err := exportTo(ctx, c, src.ID, backup); err != nil {
		return err
	}
	st, err := os.Stat(backup)
	if err != nil {
		return err
	}
	fmt.Printf("backed up %q to %s (%d bytes)\n", src.Title, backup, st.Size())

	// 3. Restore it into a new namespace.
	dst, err := createNamespace(ctx, c, fmt.Sprintf("workerskv-backup-restore-%d", stamp))
	if err != nil {
		return err
	}
	defer deleteNamespace(ctx, c, dst)
	f, err := os.Open(backup)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err = c.Bulk.Import(ctx, dst.ID, f, &workerskv.BulkOptions{Progress: progressLine("restore")})
	endLine()
	if err != nil {
		return err
	}
	fmt.Printf("restored %d keys into %q (%d could not be written)\n", res.Succeeded, dst.Title, len(res.Unsuccessful))

	// 4. Check: the copy exports to the same bytes as the backup.
	want, err := os.ReadFile(backup)
	if err != nil {
		return err
	}
	var got bytes.Buffer
	if err := c.Bulk.Export(ctx, dst.ID, &got, nil); err != nil {
		return err
	}
	if !bytes.Equal(got.Bytes(), want) {
		return errors.New("the restored namespace differs from the backup")
	}
	fmt.Println("verified: the restored namespace exports exactly as the backup")
	return nil
}

// samplePairs makes keys with text, JSON and binary values, some with metadata or an expiration.
func samplePairs() []workerskv.BulkPair {
	pairs := make([]workerskv.BulkPair, sampleKeys)
	for i := range pairs {
		p := workerskv.BulkPair{Key: fmt.Sprintf("user/%05d", i), Value: fmt.Appendf(nil, `{"id":%d,"name":"user %d"}`, i, i)}
		switch {
		case i%10 == 0:
			p.Key = fmt.Sprintf("avatar/%05d.png", i)
			p.Value = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, byte(i), byte(i >> 8)}
		case i%7 == 0:
			p.Metadata = map[string]any{"plan": "pro", "since": 2024}
		case i%5 == 0:
			p.ExpirationTTL = 24 * time.Hour
		}
		pairs[i] = p
	}
	return pairs
}

// exportTo writes the namespace's backup to path, reporting the lines written as it goes.
func exportTo(ctx context.Context, c *workerskv.Client, namespaceID, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &lineCounter{w: bufio.NewWriter(f)}
	err = c.Bulk.Export(ctx, namespaceID, w, nil)
	endLine()
	if err == nil {
		err = w.w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lineCounter passes writes through, showing how many keys (lines) have been exported.
type lineCounter struct {
	w     *bufio.Writer
	lines int
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.lines += bytes.Count(p, []byte{'\n'})
	fmt.Fprintf(os.Stderr, "\rbackup: %d keys", l.lines)
	return l.w.Write(p)
}

// progressLine returns a bulk Progress callback that redraws one status line on stderr.
func progressLine(what string) func(workerskv.BulkProgress) {
	start := time.Now()
	return func(p workerskv.BulkProgress) {
		total := "?"
		if p.Total >= 0 {
			total = fmt.Sprint(p.Total)
		}
		fmt.Fprintf(os.Stderr, "\r%s: %d/%s keys, %d requests, %.1f kB, %s", what, p.Done, total, p.Requests,
			float64(p.Bytes)/1e3, time.Since(start).Round(time.Millisecond))
	}
}

func endLine() { fmt.Fprintln(os.Stderr) }

func createNamespace(ctx context.Context, c *workerskv.Client, title string) (*workerskv.Namespace, error) {
	ns, err := c.Namespaces.Create(ctx, title)
	if err != nil {
		return nil, err
	}
	fmt.Printf("created namespace %q (%s)\n", ns.Title, ns.ID)
	return ns, nil
}

// deleteNamespace removes a namespace the program created, even when ctx has been cancelled.
func deleteNamespace(ctx context.Context, c *workerskv.Client, ns *workerskv.Namespace) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.Namespaces.Delete(ctx, ns.ID); err != nil {
		fmt.Fprintf(os.Stderr, "export-import: deleting namespace %s: %v\n", ns.ID, err)
		return
	}
	fmt.Printf("deleted namespace %q\n", ns.Title)
}
