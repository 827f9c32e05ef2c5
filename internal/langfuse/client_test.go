package langfuse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var configsPage = pageBody([]map[string]any{{
	"id": "cfg-1", "name": "quality", "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
	"projectId": "p", "dataType": "NUMERIC", "isArchived": false,
}}, 1, 100, 1)

// listConfigs runs a one-page listing and returns what it saw.
func listConfigs(ctx context.Context, c *Client) ([]ScoreConfig, error) {
	var got []ScoreConfig
	err := c.ListScoreConfigs(ctx, PageOptions{}, func(p []ScoreConfig) error {
		got = append(got, p...)
		return nil
	})
	return got, err
}

// failOnce answers the first request with fail and the others with configsPage.
func failOnce(fail http.HandlerFunc) (http.Handler, *atomic.Int32) {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			fail(w, r)
			return
		}
		writeJSON(w, 200, configsPage)
	}), &n
}

func status(code int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		writeJSON(w, code, map[string]any{"message": http.StatusText(code)})
	}
}

func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN: a connection reset
	}
	conn.Close()
}

func TestRetriesTransientFailures(t *testing.T) {
	full := `{"data":[{"id":"cfg-1","name":"q","projectId":"p","dataType":"NUMERIC","isArchived":false,` +
		`"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}],"meta":{"page":1,"limit":100,"totalItems":1,"totalPages":1}}`
	tests := []struct {
		name string
		fail http.HandlerFunc
	}{
		{"429", status(429)},
		{"500", status(500)},
		{"502", status(502)},
		{"503", status(503)},
		{"504", status(504)},
		{"524 from Cloudflare", status(524)},
		{"connection reset", hangUp},
		{"body shorter than Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(full)))
			_, _ = io.WriteString(w, full[:40])
		}},
		{"JSON cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, full[:len(full)-30])
		}},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := failOnce(tt.fail)
			env := newTestClient(t, h, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
			got, err := listConfigs(context.Background(), env.c)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(got) != 1 || got[0].ID != "cfg-1" {
				t.Errorf("got %+v", got)
			}
			if n.Load() != 2 {
				t.Errorf("%d requests, want 2", n.Load())
			}
			if !strings.Contains(env.logs.String(), "retrying") {
				t.Errorf("no retry logged:\n%s", env.logs)
			}
		})
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{400, ErrBadRequest},
		{404, ErrNotFound},
		{413, ErrTooLarge},
		{422, ErrBadRequest},
		{403, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			var n atomic.Int32
			env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				writeJSON(w, tt.status, map[string]any{"message": "nope", "code": "some_code"})
			}))
			_, err := listConfigs(context.Background(), env.c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status || apiErr.Path != "/api/public/score-configs" ||
				apiErr.Message != "nope" || apiErr.Code != "some_code" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if !strings.Contains(err.Error(), "GET /api/public/score-configs") {
				t.Errorf("error does not name the endpoint: %v", err)
			}
			if n.Load() != 1 {
				t.Errorf("%d requests, want 1", n.Load())
			}
		})
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	var n atomic.Int32
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		status(503)(w, r)
	}), func(c *Config) { c.MaxRetries = 3 })
	_, err := listConfigs(context.Background(), env.c)
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 4 {
		t.Errorf("%d requests, want 4", n.Load())
	}
	if total, sleeps := env.clock.slept(); sleeps != 3 || total != 3*time.Second {
		t.Errorf("slept %v in %d waits, want 3s in 3", total, sleeps)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	clockNow := newFakeClock().Now()
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"HTTP date", clockNow.Add(20 * time.Second).Format(http.TimeFormat), 20 * time.Second},
		{"capped", "86400", 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := failOnce(status(429, "Retry-After", tt.header))
			env := newTestClient(t, h)
			if _, err := listConfigs(context.Background(), env.c); err != nil {
				t.Fatal(err)
			}
			if total, _ := env.clock.slept(); total != tt.want {
				t.Errorf("waited %v, want %v (no backoff on top)", total, tt.want)
			}
			if n.Load() != 2 {
				t.Errorf("%d requests", n.Load())
			}
		})
	}
}

func TestRateLimitResetPausesTheBucket(t *testing.T) {
	var times []time.Time
	var env *testEnv
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		times = append(times, env.clock.Now())
		if len(times) == 1 {
			// Langfuse formats the reset with JavaScript's Date.toString().
			reset := env.clock.Now().Add(30*time.Second).Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Coordinated Universal Time)"
			w.Header().Set("X-RateLimit-Limit", "30")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", reset)
		}
		writeJSON(w, 200, configsPage)
	})
	env = newTestClient(t, h)
	for range 2 {
		if _, err := listConfigs(context.Background(), env.c); err != nil {
			t.Fatal(err)
		}
	}
	if len(times) != 2 || times[1].Sub(times[0]) != 30*time.Second {
		t.Errorf("second request at %v after the first, want 30s", times[1].Sub(times[0]))
	}
	// Another bucket is not paused.
	env.clock.mu.Lock()
	before := env.clock.now
	env.clock.mu.Unlock()
	_ = env.c.ListDatasets(context.Background(), PageOptions{}, func([]Dataset) error { return nil })
	if env.clock.Now() != before {
		t.Errorf("the datasets bucket waited for the public-api bucket")
	}
}

func TestRetryAfterPausesConcurrentCallers(t *testing.T) {
	l := newLimiter(4)
	clock := newFakeClock()
	start := clock.Now()
	l.pause(start.Add(10 * time.Second))
	l.pause(start.Add(5 * time.Second)) // never shortens
	release, err := l.acquire(context.Background(), clock)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if got := clock.Now().Sub(start); got != 10*time.Second {
		t.Errorf("acquire waited %v, want 10s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.pause(clock.Now().Add(time.Hour))
	if _, err := l.acquire(ctx, clock); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with a cancelled context = %v", err)
	}
	if len(l.slots) != 0 {
		t.Errorf("%d slots still taken", len(l.slots))
	}
}

func TestConcurrencyCapPerBucket(t *testing.T) {
	var inFlight, peak, peakDatasets atomic.Int32
	var datasetsInFlight atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter, top := &inFlight, &peak
		if strings.Contains(r.URL.Path, "datasets") {
			counter, top = &datasetsInFlight, &peakDatasets
		}
		n := counter.Add(1)
		for {
			p := top.Load()
			if n <= p || top.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		counter.Add(-1)
		writeJSON(w, 200, configsPage)
	})
	env := newTestClient(t, h, func(c *Config) {
		c.Concurrency = map[Bucket]int{BucketPublicAPI: 3, BucketDatasets: 1}
		c.Clock = nil // real time: requests must overlap
	})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := listConfigs(context.Background(), env.c); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := env.c.ListDatasets(context.Background(), PageOptions{}, func([]Dataset) error { return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak.Load() != 3 {
		t.Errorf("public-api peak in flight = %d, want 3", peak.Load())
	}
	if peakDatasets.Load() != 1 {
		t.Errorf("datasets peak in flight = %d, want 1", peakDatasets.Load())
	}
}

func TestUnauthorized(t *testing.T) {
	var n atomic.Int32
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		// A careless proxy echoing the credentials must not leak them into errors.
		_, secret, _ := r.BasicAuth()
		writeJSON(w, 401, map[string]any{"message": "Invalid credentials " + secret + " " + r.Header.Get("Authorization")})
	}))
	_, err := env.c.Detect(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	want := "Langfuse rejected the API keys for " + env.srv.URL + ": check LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}
	if !strings.Contains(err.Error(), "/api/public/v2/observations") {
		t.Errorf("err does not name the endpoint: %v", err)
	}
	assertNoSecret(t, "error", err.Error())
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1 (no retry on 401)", n.Load())
	}
}

func TestKeysHint(t *testing.T) {
	env := newTestClient(t, status(401), func(c *Config) { c.KeysHint = "LANGFUSE_DEST_PUBLIC_KEY/LANGFUSE_DEST_SECRET_KEY" })
	_, err := env.c.Project(context.Background())
	if err == nil || !strings.Contains(err.Error(), "check LANGFUSE_DEST_PUBLIC_KEY/LANGFUSE_DEST_SECRET_KEY") {
		t.Errorf("err = %v", err)
	}
}

func TestUnreachableHost(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens on the port any more
	env := newTestClientURL(t, nil, base)
	_, err := env.c.Detect(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	host := strings.TrimPrefix(base, "http://")
	if !strings.Contains(err.Error(), "cannot reach Langfuse at "+base) || !strings.Contains(err.Error(), host) {
		t.Errorf("error does not name the host: %v", err)
	}
	if _, n := env.clock.slept(); n != probeRetries {
		t.Errorf("Detect waited %d times, want %d (quick failure)", n, probeRetries)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		status(503)(w, r)
	}))
	_, err := listConfigs(ctx, env.c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPathEscaping(t *testing.T) {
	names := []string{"folder/sub prompt", "../x", "日本語", "..", ".", "a?b#c%d&e=f+g", "trailing/"}
	var mu sync.Mutex
	var seen []string
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath())
		mu.Unlock()
		writeJSON(w, 200, map[string]any{"name": "x", "version": 1, "type": "text", "prompt": "hi", "config": map[string]any{},
			"labels": []string{}, "tags": []string{}})
	}))
	for _, name := range names {
		if _, err := env.c.GetPrompt(context.Background(), name, 3); err != nil {
			t.Fatalf("GetPrompt(%q): %v", name, err)
		}
		if _, err := env.c.GetDatasetRun(context.Background(), name, name); err != nil {
			t.Fatalf("GetDatasetRun(%q): %v", name, err)
		}
	}
	for i, name := range names {
		prompt, run := seen[2*i], seen[2*i+1]
		// A proxy that normalises paths would collapse "." and ".." segments.
		for _, p := range []string{prompt, run} {
			for _, seg := range strings.Split(p, "/") {
				if seg == "." || seg == ".." {
					t.Errorf("%q: path %q has a dot segment", name, p)
				}
			}
		}
		seg, ok := strings.CutPrefix(prompt, "/api/public/v2/prompts/")
		if !ok || strings.Contains(seg, "/") {
			t.Errorf("%q: prompt path %q is not one segment below /api/public/v2/prompts", name, prompt)
		}
		if got, err := url.PathUnescape(seg); err != nil || got != name {
			t.Errorf("%q: segment %q unescapes to %q (%v)", name, seg, got, err)
		}
		parts := strings.Split(strings.TrimPrefix(run, "/api/public/datasets/"), "/")
		if len(parts) != 3 || parts[1] != "runs" {
			t.Errorf("%q: run path %q", name, run)
			continue
		}
		for _, p := range []string{parts[0], parts[2]} {
			if got, _ := url.PathUnescape(p); got != name {
				t.Errorf("%q: run path segment %q unescapes to %q", name, p, got)
			}
		}
	}
	if _, err := env.c.GetPrompt(context.Background(), "", 1); !errors.Is(err, ErrBadRequest) {
		t.Errorf("empty prompt name: %v", err)
	}
}

func TestHTMLIsNotLangfuse(t *testing.T) {
	var n atomic.Int32
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>login</body></html>")
	}))
	_, err := env.c.Detect(context.Background())
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "text/html") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests: a page that is not JSON is not retried", n.Load())
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		v2, v1   int
		want     Generation
		wantErr  error
		errMatch string
	}{
		{"v4", 200, 404, V4, nil, ""},
		{"v3", 404, 200, V3, nil, ""},
		{"neither", 404, 404, GenerationUnknown, ErrNotFound, "check that the base URL points at Langfuse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				code := tt.v1
				if r.URL.Path == "/api/public/v2/observations" {
					code = tt.v2
					if r.URL.Query().Get("limit") != "1" {
						t.Errorf("probe without limit=1: %s", r.URL)
					}
				}
				if code != 200 {
					status(code)(w, r)
					return
				}
				writeJSON(w, 200, map[string]any{"data": []any{}, "meta": map[string]any{}})
			}))
			g, err := env.c.Detect(context.Background())
			if g != tt.want || !errors.Is(err, tt.wantErr) || (tt.errMatch != "" && !strings.Contains(err.Error(), tt.errMatch)) {
				t.Errorf("Detect() = %v, %v; want %v, %v", g, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestProjectAndHealth(t *testing.T) {
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != testPublic || p != testSecret {
			t.Errorf("basic auth %q", u)
		}
		if r.Header.Get("User-Agent") != "lakefuse/test" {
			t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
		}
		switch r.URL.Path {
		case "/prefix/api/public/projects":
			writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "p1", "name": "Prod",
				"organization": map[string]any{"id": "o1", "name": "Org"}, "metadata": map[string]any{"a": 1}, "retentionDays": 30}}})
		case "/prefix/api/public/health":
			writeJSON(w, 200, map[string]any{"version": "3.120.0", "status": "OK"})
		default:
			http.NotFound(w, r)
		}
	}))
	env2 := newTestClientURL(t, env.srv, env.srv.URL+"/prefix/", func(c *Config) { c.UserAgent = "lakefuse/test" })
	p, err := env2.c.Project(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "p1" || p.Organization.Name != "Org" || *p.RetentionDays != 30 || string(p.Metadata) != `{"a":1}` {
		t.Errorf("project = %+v", p)
	}
	h, err := env2.c.Health(context.Background())
	if err != nil || h.Version != "3.120.0" {
		t.Errorf("health = %+v, %v", h, err)
	}
}
