package persist

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/workerskv/workerskv/emulator"
)

// storedKeys returns the key names stored in dir's file for every
// namespace, by namespace ID.
func storedKeys(t *testing.T, dir string) map[string][]string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := map[string][]string{}
	err = db.View(func(tx *bolt.Tx) error {
		kb := tx.Bucket(bucketKeys).Bucket([]byte(emulator.DefaultAccountID))
		if kb == nil {
			return nil
		}
		return kb.ForEachBucket(func(id []byte) error {
			keys[string(id)] = []string{}
			return kb.Bucket(id).ForEach(func(k, _ []byte) error {
				keys[string(id)] = append(keys[string(id)], string(k))
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestReopenDeletesExpiredFromFile: an entry that has expired when the
// directory is opened again is dropped from the file, not only from
// memory.
func TestReopenDeletesExpiredFromFile(t *testing.T) {
	dir := t.TempDir()
	start := time.Unix(1_800_000_000, 0)
	e, err := Open(dir, emulator.WithClock(emulator.NewFakeClock(start)))
	if err != nil {
		t.Fatal(err)
	}
	do := func(e *emulator.Emulator, method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, "/client/v4/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec
	}
	var created struct {
		Result struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	if err := json.Unmarshal(do(e, http.MethodPost, "", `{"title":"ttl"}`).Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	id := created.Result.ID
	do(e, http.MethodPut, "/"+id+"/values/short?expiration_ttl=60", "v")
	do(e, http.MethodPut, "/"+id+"/values/long", "v")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(storedKeys(t, dir)[id], ","); got != "long,short" {
		t.Fatalf("stored before the reopen: %s", got)
	}

	e, err = Open(dir, emulator.WithClock(emulator.NewFakeClock(start.Add(2*time.Minute))))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(storedKeys(t, dir)[id], ","); got != "long" {
		t.Fatalf("stored after the reopen: %s", got)
	}
}

// TestUnknownFormat: a file written by a later layout is refused, not
// misread.
func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("2")) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if e, err := Open(dir); err == nil || !strings.Contains(err.Error(), "unknown format") {
		if e != nil {
			_ = e.Close()
		}
		t.Fatalf("Open of a format-2 file: %v", err)
	}
}
