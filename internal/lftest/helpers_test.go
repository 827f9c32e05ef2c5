package lftest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

// client is a minimal HTTP client for the tests: it deliberately does not use
// lakefuse's Langfuse client, so the server is checked against the spec and
// not against that client's assumptions.
type client struct {
	t      testing.TB
	base   string
	pk, sk string
	hc     *http.Client
}

func newClient(t testing.TB, s *lftest.Server, k lftesting.Keys) *client {
	// No keep-alive: net/http retries idempotent requests on reused
	// connections that break, which would hide injected resets.
	return &client{t: t, base: s.URL(), pk: k.PublicKey, sk: k.SecretKey,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
}

type response struct {
	status int
	header http.Header
	body   []byte
	err    error // transport or body read error
}

func (c *client) do(path string, q url.Values, auth bool) response {
	c.t.Helper()
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		c.t.Fatalf("request %s: %v", u, err)
	}
	if auth {
		req.SetBasicAuth(c.pk, c.sk)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// get fetches path and decodes a JSON object, failing unless the status is want.
func (c *client) get(path string, q url.Values, want int) map[string]any {
	c.t.Helper()
	r := c.do(path, q, true)
	if r.err != nil {
		c.t.Fatalf("GET %s?%s: %v", path, q.Encode(), r.err)
	}
	if r.status != want {
		c.t.Fatalf("GET %s?%s: status %d, want %d: %s", path, q.Encode(), r.status, want, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		c.t.Fatalf("GET %s: decode %q: %v", path, r.body, err)
	}
	return m
}

func vals(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}

func data(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range m["data"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func meta(m map[string]any) map[string]any { return m["meta"].(map[string]any) }

func num(v any) int { return int(v.(float64)) }

// smallProject is the generated project most tests read.
func smallProject() *lftest.Project { return lftest.Generate(1, lftest.SizeSmall) }

// serve starts a validated server of the mode with the small project.
func serve(t *testing.T, mode lftest.Mode) (*lftest.Project, *client) {
	t.Helper()
	p := smallProject()
	s, k := lftesting.ServeProject(t, lftest.Options{Mode: mode}, p)
	return p, newClient(t, s, k)
}

// walkPages collects every row of a page-paginated list.
func walkPages(t *testing.T, c *client, path string, q url.Values, limit int) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for page := 1; ; page++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", itoa(page))
		qq.Set("limit", itoa(limit))
		m := c.get(path, qq, http.StatusOK)
		d := data(m)
		mt := meta(m)
		if num(mt["page"]) != page || num(mt["limit"]) != limit {
			t.Fatalf("%s page %d: meta %v", path, page, mt)
		}
		total := num(mt["totalItems"])
		if want := (total + limit - 1) / limit; num(mt["totalPages"]) != want {
			t.Fatalf("%s: totalPages %v, want %d", path, mt["totalPages"], want)
		}
		rows = append(rows, d...)
		if len(d) < limit || page >= num(mt["totalPages"]) {
			if len(rows) != total {
				t.Fatalf("%s: walked %d rows, totalItems %d", path, len(rows), total)
			}
			return rows
		}
	}
}

// walkCursor collects every row of a cursor-paginated list.
func walkCursor(t *testing.T, c *client, path string, q url.Values) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("%s: cursor does not end", path)
		}
		m := c.get(path, q, http.StatusOK)
		rows = append(rows, data(m)...)
		cur, ok := meta(m)["cursor"].(string)
		if !ok || cur == "" {
			return rows
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("cursor", cur)
		q = qq
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func ids(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r["id"].(string)
	}
	return out
}

// assertOnce checks that got has every id of want exactly once.
func assertOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s: %s returned %d times", what, id, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("%s: %s missing", what, id)
			return
		}
	}
}

// fakeClock is a settable clock for rate limits and URL expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func serveProject(t *testing.T, mode lftest.Mode, p *lftest.Project) (*lftest.Server, lftesting.Keys) {
	t.Helper()
	return lftesting.ServeProject(t, lftest.Options{Mode: mode}, p)
}

// unvalidated serves p without OpenAPI validation, for requests the spec
// does not describe.
func unvalidated(t *testing.T, mode lftest.Mode, p *lftest.Project) *client {
	t.Helper()
	s := lftest.NewServer(lftest.Options{Mode: mode})
	t.Cleanup(s.Close)
	_, pk, sk := s.AddGeneratedProject(p)
	return newClient(t, s, lftesting.Keys{PublicKey: pk, SecretKey: sk})
}
