package emulatorcmd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

// withLimits serves the test with l instead of the default limits.
func withLimits(t *testing.T, l limits) {
	old := serverLimits
	serverLimits = l
	t.Cleanup(func() { serverLimits = old })
}

// shortLimits are the default limits with every timeout that a test waits
// for cut to 100 ms. A test that fails waits for its own bound (waitBound),
// far longer, and never for the default.
func shortLimits() limits {
	l := serverLimits
	l.bodyIdle = 100 * time.Millisecond
	l.idle = 100 * time.Millisecond
	l.shutdownGrace = 100 * time.Millisecond
	return l
}

// waitBound is how long a test waits for the server to let go of a client
// whose timeout is 100 ms: long enough for any load, short enough to fail.
const waitBound = 20 * time.Second

// dial opens a raw connection to the server s.
func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	u, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// createNamespace creates a namespace titled title on s and returns its ID.
func (s *server) createNamespace(t *testing.T, title string) string {
	t.Helper()
	code, body := s.call(t, emulator.DefaultAPIToken, http.MethodPost, "/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces", "application/json", `{"title":"`+title+`"}`)
	if code != 200 {
		t.Fatalf("create namespace: %d %s", code, body)
	}
	_, rest, _ := strings.Cut(string(body), `"id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// partialPut writes the headers of a value write announcing 100 bytes and
// the first byte of its body.
func partialPut(t *testing.T, c net.Conn, ns string) {
	t.Helper()
	req := "PUT /client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces/" + ns + "/values/k HTTP/1.1\r\n" +
		"Host: emulator\r\nAuthorization: Bearer " + emulator.DefaultAPIToken + "\r\nContent-Length: 100\r\n\r\nx"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
}

// released reads c until the server answers or closes it, and fails the
// test if neither happens within waitBound.
func released(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitBound))
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server still holds the connection after %v (read so far: %q)", waitBound, got)
	}
	return string(got)
}

// TestTricklingBodyIsCut: a client that announces a body and stops sending
// has its request failed and its connection closed once no byte has come for
// the body idle time.
func TestTricklingBodyIsCut(t *testing.T) {
	withLimits(t, shortLimits())
	s := start(t)
	ns := s.createNamespace(t, "slow")
	c := s.dial(t)
	partialPut(t, c, ns)
	got := released(t, c)
	if got != "" && !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("answer to a stalled body: %q, want a 400 or a closed connection", got)
	}
	if code, _ := s.call(t, emulator.DefaultAPIToken, http.MethodGet, "/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces/"+ns+"/values/k", "", ""); code != 404 {
		t.Errorf("after a stalled body the key answers %d, want 404 (nothing stored)", code)
	}
}

// TestIdleConnectionIsClosed: a keep-alive connection with no next request
// is closed after the idle time.
func TestIdleConnectionIsClosed(t *testing.T) {
	withLimits(t, shortLimits())
	s := start(t)
	c := s.dial(t)
	io.WriteString(c, "GET /client/v4/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces HTTP/1.1\r\nHost: emulator\r\nAuthorization: Bearer "+emulator.DefaultAPIToken+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("list namespaces: %d", resp.StatusCode)
	}
	c.SetReadDeadline(time.Now().Add(waitBound))
	if n, err := br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: read %d bytes, %v; want it closed (EOF)", n, err)
	}
}

// TestOversizedHeadersAreRefused: more than 64 KiB of headers is answered
// 431 without reading further.
func TestOversizedHeadersAreRefused(t *testing.T) {
	s := start(t)
	c := s.dial(t)
	go io.WriteString(c, "GET /client/v4/ HTTP/1.1\r\nHost: emulator\r\nX-Big: "+strings.Repeat("a", 200<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d for 200 KiB of headers, want 431", resp.StatusCode)
	}
}

// TestStopWhileReadingExitsCleanly: a stop asked for while a client is still
// sending a body ends with status 0 once the grace period has passed: the
// slow request is aborted, which is not a failure of the server.
func TestStopWhileReadingExitsCleanly(t *testing.T) {
	l := shortLimits()
	l.bodyIdle = time.Minute // the body stays pending through the grace period
	withLimits(t, l)
	s := start(t)
	ns := s.createNamespace(t, "slow")
	slow := s.dial(t)
	// Expect: 100-continue makes the server answer "100 Continue" when the
	// handler first reads the body: from then on the request is in progress.
	req := "PUT /client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces/" + ns + "/values/k HTTP/1.1\r\n" +
		"Host: emulator\r\nAuthorization: Bearer " + emulator.DefaultAPIToken + "\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(slow, req); err != nil {
		t.Fatal(err)
	}
	slow.SetReadDeadline(time.Now().Add(waitBound))
	line, err := bufio.NewReader(slow).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("waiting for 100 Continue: %q, %v", line, err)
	}
	io.WriteString(slow, "x")
	s.cancel()
	select {
	case err := <-s.done:
		s.done = nil
		if err != nil {
			t.Fatalf("Run after a stop with a request still being read: %v, want nil (exit 0)", err)
		}
	case <-time.After(waitBound):
		t.Fatal("Run did not return after the grace period")
	}
	if !strings.Contains(s.out.String(), "aborted") {
		t.Errorf("no word of the aborted request in the output:\n%s", s.out)
	}
}

// TestBindsBeforeOpeningData: when the port is taken, Run fails without
// creating the data directory or its state file.
func TestBindsBeforeOpeningData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "state")
	var out syncBuffer
	err = Run(context.Background(), "kvemulator", []string{"-addr", ln.Addr().String(), "-data", dir}, &out, io.Discard)
	if err == nil {
		t.Fatal("Run on a port in use succeeded")
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a failed start left %s behind (stat: %v)", dir, statErr)
	}
}
