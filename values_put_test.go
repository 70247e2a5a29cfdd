// Uploads of large values: how a value's body is streamed (an allocation check; the benchmarks are in
// values_bench_test.go), and how it is replayed, or refused, when the transport reads it more than once.

package workerskv_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

const okEnvelope = `{"success":true,"errors":[],"messages":[],"result":null}`

// value25MiB is one shared 25 MiB value, allocated on first use.
var value25MiB = sync.OnceValue(func() []byte { return bytes.Repeat([]byte{0xa5}, 25<<20) })

// drainTransport is a minimal server: it reads each request body to its end without keeping it, and
// answers a value read with get and anything else with a success envelope.
type drainTransport struct{ get []byte }

func (d drainTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, err := io.Copy(io.Discard, req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Request: req}
	if req.Method == http.MethodGet && d.get != nil {
		resp.Header.Set("Content-Type", "application/octet-stream")
		resp.ContentLength = int64(len(d.get))
		resp.Body = io.NopCloser(bytes.NewReader(d.get))
		return resp, nil
	}
	resp.Header.Set("Content-Type", "application/json")
	resp.ContentLength = int64(len(okEnvelope))
	resp.Body = io.NopCloser(strings.NewReader(okEnvelope))
	return resp, nil
}

var putCases = []struct {
	name string
	opts *workerskv.PutOptions
}{
	{"raw", nil},
	{"metadata", &workerskv.PutOptions{Metadata: map[string]string{"content-type": "application/octet-stream"}}},
}

// TestPut25MiBAllocatesLittle checks that a 25 MiB upload from a *bytes.Reader is streamed: each Put
// allocates under 1 MiB beyond the value itself. It measures the heap of the whole process, so it does
// not run in parallel with other tests (parallel tests only start once the sequential ones are done).
func TestPut25MiBAllocatesLittle(t *testing.T) {
	value := value25MiB()
	c := vkClient(t, drainTransport{})
	ctx := t.Context()
	for _, pc := range putCases {
		t.Run(pc.name, func(t *testing.T) {
			put := func() {
				if err := c.Values.Put(ctx, testNS, "big", bytes.NewReader(value), pc.opts); err != nil {
					t.Fatal(err)
				}
			}
			put() // warm up pools and lazily built state
			const runs = 4
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				put()
			}
			runtime.ReadMemStats(&after)
			perPut := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%d bytes allocated per 25 MiB Put", perPut)
			if perPut > 1<<20 {
				t.Fatalf("a 25 MiB Put allocated %d bytes; want under 1 MiB (the value must be streamed, not copied)", perPut)
			}
		})
	}
}

// vkClient is a client over rt (never the network) with fast retries.
func vkClient(tb testing.TB, rt http.RoundTripper, opts ...workerskv.Option) *workerskv.Client {
	tb.Helper()
	c, err := workerskv.NewClient(append([]workerskv.Option{
		workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(testBase),
		workerskv.WithHTTPClient(&http.Client{Transport: rt}), workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
	}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// lateReadTransport answers the first attempt with a 503 while that attempt's body is still being
// read, as net/http's transport may do when a server replies before reading the whole request: the
// first attempt's body is read again only once the second attempt has started.
type lateReadTransport struct {
	attempts      int
	release, done chan struct{}
	second        recorded
}

func (lt *lateReadTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	lt.attempts++
	if lt.attempts == 1 {
		head := make([]byte, 4)
		_, _ = io.ReadFull(req.Body, head)
		go func() {
			<-lt.release
			_, _ = io.Copy(io.Discard, req.Body)
			close(lt.done)
		}()
		return httpmock.NewStringResponse(503, failure(10001, "unavailable")), nil
	}
	close(lt.release)
	<-lt.done
	body, _ := io.ReadAll(req.Body)
	lt.second = recorded{Header: req.Header.Clone(), Body: body}
	return httpmock.NewStringResponse(200, envelope("null")), nil
}

func TestValuesPutRetryIgnoresLateReadsOfEarlierAttempt(t *testing.T) {
	t.Parallel()
	for _, meta := range []any{nil, "m"} {
		t.Run(map[bool]string{true: "raw", false: "multipart"}[meta == nil], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { // the backoff between the attempts passes in fake time
				lt := &lateReadTransport{release: make(chan struct{}), done: make(chan struct{})}
				c := vkClient(t, lt)
				value := bytes.Repeat([]byte("late"), 1000)
				if err := c.Values.Put(t.Context(), testNS, "k", bytes.NewReader(value), &workerskv.PutOptions{Metadata: meta}); err != nil {
					t.Fatal(err)
				}
				got := lt.second.Body
				if meta != nil {
					parts, _ := vkParts(t, lt.second)
					got = parts["value"].Data
				}
				if lt.attempts != 2 || !bytes.Equal(got, value) {
					t.Fatalf("%d attempts; the second sent %d value bytes, want %d", lt.attempts, len(got), len(value))
				}
			})
		})
	}
}

func TestValuesPutFromPipeSendsOnce(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", vkValueURL("k"), jsonResponder(503, failure(10001, "unavailable")))
	r, w, err := os.Pipe() // an *os.File, so an io.ReadSeeker whose Seek fails, like os.Stdin
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		_, _ = w.WriteString("piped value")
		w.Close()
	}()
	err = c.Values.Put(t.Context(), testNS, "k", r, nil)
	var ae *workerskv.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("Put: %v, want an APIError 503 (sent once, not retried)", err)
	}
	if rec := vkOne(t, m); string(rec.Body) != "piped value" {
		t.Fatalf("body %q", rec.Body)
	}
}

// rewindTransport reads the first bytes of a body, then rewinds it through GetBody as net/http does
// when a connection is lost mid-request, and keeps what the rewound body holds.
type rewindTransport struct {
	rewound   []byte
	rewindErr error
}

func (rt *rewindTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _ = io.ReadFull(req.Body, make([]byte, 3))
	body, err := req.GetBody()
	if rt.rewindErr = err; err == nil {
		rt.rewound, _ = io.ReadAll(body)
	}
	return httpmock.NewStringResponse(200, envelope("null")), nil
}

func TestValuesPutRewindThroughGetBody(t *testing.T) {
	t.Parallel()
	t.Run("seekable value starts over", func(t *testing.T) {
		t.Parallel()
		rt := &rewindTransport{}
		if err := vkClient(t, rt).Values.Put(t.Context(), testNS, "k", strings.NewReader("abcdefgh"), nil); err != nil {
			t.Fatal(err)
		}
		if rt.rewindErr != nil || string(rt.rewound) != "abcdefgh" {
			t.Fatalf("rewound body %q, %v; want the whole value", rt.rewound, rt.rewindErr)
		}
	})
	t.Run("one-shot value refuses", func(t *testing.T) {
		t.Parallel()
		rt := &rewindTransport{}
		if err := vkClient(t, rt).Values.Put(t.Context(), testNS, "k", struct{ io.Reader }{strings.NewReader("abcdefgh")}, nil); err != nil {
			t.Fatal(err)
		}
		if rt.rewindErr == nil {
			t.Fatalf("rewinding a partly read one-shot value gave %q; want an error, never the rest of the value", rt.rewound)
		}
	})
}
