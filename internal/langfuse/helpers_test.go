package langfuse

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testPublic = "pk-lf-test-public"
	testSecret = "sk-lf-VERY-SECRET-0123456789"
)

// fakeClock makes every wait instant and records it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.sleeps = append(f.sleeps, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeClock) slept() (total time.Duration, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.sleeps {
		total += d
	}
	return total, len(f.sleeps)
}

// syncBuffer is a log sink shared by the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testEnv struct {
	c     *Client
	clock *fakeClock
	logs  *syncBuffer
	srv   *httptest.Server
}

// newTestClient starts h and returns a client for it with a fake clock and a 1s backoff. At
// the end of the test it fails if the secret key or the Basic credentials reached the logs.
func newTestClient(t *testing.T, h http.Handler, mods ...func(*Config)) *testEnv {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newTestClientURL(t, srv, srv.URL, mods...)
}

func newTestClientURL(t *testing.T, srv *httptest.Server, baseURL string, mods ...func(*Config)) *testEnv {
	t.Helper()
	clock := newFakeClock()
	logs := &syncBuffer{}
	cfg := Config{
		BaseURL:   baseURL,
		PublicKey: testPublic,
		SecretKey: testSecret,
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:     clock,
		Backoff:   func(int) time.Duration { return time.Second },
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		assertNoSecret(t, "logs", logs.String())
	})
	return &testEnv{c: c, clock: clock, logs: logs, srv: srv}
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, basicToken(testPublic, testSecret), "VERY-SECRET"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contain the secret %q:\n%s", where, secret, s)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pageBody renders a page/limit answer.
func pageBody(data any, page, limit, total int) map[string]any {
	pages := (total + limit - 1) / limit
	return map[string]any{"data": data, "meta": map[string]any{"page": page, "limit": limit, "totalItems": total, "totalPages": pages}}
}
