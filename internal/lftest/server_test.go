package lftest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

func TestAuth(t *testing.T) {
	s := lftesting.NewServer(t, lftest.Options{})
	_, pk, sk := s.AddProject("auth")
	c := &client{t: t, base: s.URL(), hc: http.DefaultClient}
	cases := []struct {
		name   string
		header string
		status int
		msg    string
	}{
		{"none", "", 401, "No authorization header"},
		{"unknown public key", basic("pk-lf-nope", sk), 401, "Invalid public key. Confirm that you've configured the correct host."},
		{"wrong secret", basic(pk, "sk-lf-wrong"), 401, "Invalid credentials. Confirm that you've configured the correct host."},
		{"malformed", "Basic !!!", 401, "Invalid authorization header. Confirm that you've configured the correct host."},
		{"other scheme", "Token abc", 401, "Invalid authorization header"},
		{"public key only", "Bearer " + pk, 403, "Access denied - insufficient permissions for this endpoint"},
		{"valid", basic(pk, sk), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, c.base+"/api/public/projects", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.status, body)
			}
			if tc.msg != "" && (body["message"] != tc.msg || len(body) != 1) {
				t.Errorf("body %v, want {message: %q}", body, tc.msg)
			}
		})
	}
	// Health needs no key.
	if r := c.do("/api/public/health", nil, false); r.status != 200 || !strings.Contains(string(r.body), `"status":"OK"`) {
		t.Errorf("health: %d %s", r.status, r.body)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestModeRefusals(t *testing.T) {
	const eventsOnly = "This endpoint is not available on deployments running in Langfuse v4 events_only mode. Learn more about Langfuse v4 at: https://langfuse.com/docs/v4"
	t.Run("v4 refuses legacy reads before auth", func(t *testing.T) {
		_, c := serve(t, lftest.V4)
		for _, path := range []string{"/api/public/traces", "/api/public/traces/x", "/api/public/observations", "/api/public/observations/x",
			"/api/public/sessions", "/api/public/sessions/x", "/api/public/v2/scores", "/api/public/v2/scores/x",
			"/api/public/datasets/" + url.PathEscape("qa/golden-set") + "/runs", "/api/public/datasets/d/runs/r",
			"/api/public/dataset-run-items"} {
			for _, auth := range []bool{true, false} {
				r := c.do(path, vals("datasetId", "d", "runName", "r"), auth)
				var body map[string]any
				_ = json.Unmarshal(r.body, &body)
				if r.status != http.StatusNotFound || body["message"] != eventsOnly {
					t.Errorf("%s (auth %v): %d %s", path, auth, r.status, r.body)
				}
			}
		}
	})
	t.Run("v4 refuses the undocumented v1 scores", func(t *testing.T) {
		r := unvalidated(t, lftest.V4, smallProject()).do("/api/public/scores", nil, false)
		if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "events_only") {
			t.Errorf("GET /api/public/scores: %d %s", r.status, r.body)
		}
	})
	t.Run("v3 has no v2 observations or experiments", func(t *testing.T) {
		_, c := serve(t, lftest.V3)
		for path, msg := range map[string]string{
			"/api/public/v2/observations":  "The observations v2 API is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4",
			"/api/public/experiments":      "The experiments API is only available",
			"/api/public/experiment-items": "The experiments API is only available",
		} {
			m := c.get(path, vals("fromStartTime", "2026-01-01T00:00:00Z"), http.StatusNotFound)
			if !strings.HasPrefix(m["message"].(string), msg) || m["error"] != "LangfuseNotFoundError" {
				t.Errorf("%s: %v", path, m)
			}
			if r := c.do(path, vals("fromStartTime", "2026-01-01T00:00:00Z"), false); r.status != http.StatusUnauthorized {
				t.Errorf("%s without key: %d, want 401 (the v3 server authenticates first)", path, r.status)
			}
		}
		// v3 scores exist on v3 servers too.
		c.get("/api/public/v3/scores", nil, http.StatusOK)
	})
}

func TestRateLimits(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)}
	s, k := lftesting.ServeProject(t, lftest.Options{Now: clock.Now,
		RateLimits: map[lftest.Bucket]lftest.RateLimit{lftest.BucketPublicAPI: {Points: 3, Window: time.Minute}}}, smallProject())
	c := newClient(t, s, k)
	for i := 0; i < 3; i++ {
		c.get("/api/public/projects", nil, http.StatusOK)
	}
	clock.Advance(15 * time.Second)
	r := c.do("/api/public/models", nil, true)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", r.status)
	}
	for h, want := range map[string]string{"Retry-After": "45", "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset": "Sat Mar 07 2026 00:01:00 GMT+0000 (Coordinated Universal Time)"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	var body struct {
		Message, Code string
		Details       map[string]any
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Message != "Rate limit exceeded" || body.Code != "rate_limited" ||
		body.Details["retryAfterSeconds"] != 45.0 || body.Details["limit"] != 3.0 || body.Details["remaining"] != 0.0 ||
		body.Details["resetAt"] != "2026-03-07T00:01:00.000Z" {
		t.Errorf("429 body %s", r.body)
	}
	// Other buckets are counted apart.
	c.get("/api/public/v2/prompts", nil, http.StatusOK)
	clock.Advance(46 * time.Second)
	c.get("/api/public/projects", nil, http.StatusOK)
	if st := s.Stats(); st.RateLimited != 1 {
		t.Errorf("RateLimited = %d, want 1", st.RateLimited)
	}
}

func TestFaultRates(t *testing.T) {
	for _, kind := range []lftest.FaultKind{lftest.Fault429, lftest.Fault500, lftest.Fault502, lftest.Fault503,
		lftest.FaultReset, lftest.FaultTruncate, lftest.FaultSlow} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			n := 200
			if kind == lftest.FaultSlow {
				n = 80 // each slow response costs slowDelay
			}
			s, k := lftesting.ServeProject(t, lftest.Options{Faults: lftest.Faults{Seed: 42, Rates: map[lftest.FaultKind]float64{kind: 0.25},
				SlowDelay: slowDelay, RetryAfter: 3 * time.Second}}, smallProject())
			c := newClient(t, s, k)
			seen := 0
			for i := 0; i < n; i++ {
				start := time.Now()
				r := c.do("/api/public/projects", nil, true)
				if observedFault(r, time.Since(start)) == kind {
					seen++
				} else if r.err != nil || r.status != http.StatusOK {
					t.Fatalf("request %d: unexpected %d %v", i, r.status, r.err)
				}
			}
			st := s.Stats()
			if st.Faults[kind] != seen {
				t.Errorf("server injected %d, client saw %d", st.Faults[kind], seen)
			}
			if seen < n*15/100 || seen > n*35/100 {
				t.Errorf("%d of %d requests faulted, want about 25%%", seen, n)
			}
			if st.Requests["GET /api/public/projects"] != n {
				t.Errorf("request count %d, want %d", st.Requests["GET /api/public/projects"], n)
			}
		})
	}
}

// slowDelay is far above the time of a normal request, even on a busy machine.
const slowDelay = 200 * time.Millisecond

// observedFault classifies a response as the client sees it.
func observedFault(r response, took time.Duration) lftest.FaultKind {
	switch {
	case r.err != nil && r.status == http.StatusOK:
		return lftest.FaultTruncate // headers arrived, the body broke off
	case r.err != nil:
		return lftest.FaultReset
	case r.status == 429 && r.header.Get("Retry-After") == "3":
		return lftest.Fault429
	case r.status == 500:
		return lftest.Fault500
	case r.status == 502:
		return lftest.Fault502
	case r.status == 503:
		return lftest.Fault503
	case took >= slowDelay:
		return lftest.FaultSlow
	}
	return lftest.FaultNone
}

func TestFaultsAreDeterministic(t *testing.T) {
	faults := lftest.Faults{Seed: 7, Rates: map[lftest.FaultKind]float64{lftest.Fault429: 0.1, lftest.Fault500: 0.1,
		lftest.Fault502: 0.1, lftest.Fault503: 0.1, lftest.FaultReset: 0.1, lftest.FaultTruncate: 0.1}}
	run := func() []string {
		s, k := lftesting.ServeProject(t, lftest.Options{Faults: faults}, smallProject())
		c := newClient(t, s, k)
		var out []string
		for i := 0; i < 60; i++ {
			r := c.do("/api/public/score-configs", nil, true)
			out = append(out, string(observedFault(r, 0))+"/"+itoa(r.status))
		}
		return out
	}
	a, b := run(), run()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	kinds := map[string]bool{}
	for _, x := range a {
		kinds[x] = true
	}
	if len(kinds) < 5 {
		t.Errorf("only %d outcomes in 60 requests: %v", len(kinds), a)
	}
}

func TestFaultScriptAndMatch(t *testing.T) {
	s, k := lftesting.ServeProject(t, lftest.Options{}, smallProject())
	c := newClient(t, s, k)
	s.SetFaults(lftest.Faults{Script: []lftest.FaultKind{lftest.Fault503, lftest.FaultNone, lftest.Fault429},
		Match: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/public/v2/observations") }})
	c.get("/api/public/projects", nil, http.StatusOK) // not matched
	var got []int
	for i := 0; i < 4; i++ {
		got = append(got, c.do("/api/public/v2/observations", nil, true).status)
	}
	if want := []int{503, 200, 429, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRequestCounts(t *testing.T) {
	v := lftesting.Validator(t)
	s, k := lftesting.ServeProject(t, lftest.Options{Validator: v}, smallProject())
	defer v.Reset() // the unrouted request is a deliberate route violation
	c := newClient(t, s, k)
	rows := walkCursor(t, c, "/api/public/v2/observations", vals("limit", "100"))
	c.get("/api/public/v2/prompts/"+url.PathEscape("folder/sub/prompt"), nil, http.StatusOK)
	c.do("/api/public/nope", nil, true)
	st := s.Stats()
	pages := (len(rows) + 99) / 100
	if got := s.Requests("GET /api/public/v2/observations"); got != pages {
		t.Errorf("v2 observations requests %d, want %d", got, pages)
	}
	if st.Requests["GET /api/public/v2/prompts/{promptName+}"] != 1 || st.Requests["GET (unrouted)"] != 1 || st.Total != pages+2 {
		t.Errorf("stats %+v", st)
	}
	s.ResetStats()
	if s.Stats().Total != 0 {
		t.Error("ResetStats kept counts")
	}
}

func TestMediaDownload(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)}
	p := smallProject()
	s, k := lftesting.ServeProject(t, lftest.Options{Now: clock.Now}, p)
	c := newClient(t, s, k)
	for _, m := range p.MediaList() {
		got := c.get("/api/public/media/"+m.ID, nil, http.StatusOK)
		if got["contentType"] != m.ContentType || num(got["contentLength"]) != len(m.Bytes) || got["urlExpiry"] != "2026-03-07T13:00:00.000Z" {
			t.Errorf("media %s: %v", m.ID, got)
		}
		u := got["url"].(string)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || lftest.MediaID(b) != m.ID || resp.Header.Get("Content-Type") != m.ContentType {
			t.Errorf("download %s: %d, id of bytes %s", u, resp.StatusCode, lftest.MediaID(b))
		}
		if r, _ := http.Get(strings.Replace(u, "X-Amz-Signature=", "X-Amz-Signature=0", 1)); r.StatusCode != http.StatusForbidden {
			t.Errorf("tampered signature: %d, want 403", r.StatusCode)
		}
		clock.Advance(2 * time.Hour)
		if r, _ := http.Get(u); r.StatusCode != http.StatusForbidden {
			t.Errorf("expired URL: %d, want 403", r.StatusCode)
		}
		clock.Advance(-2 * time.Hour)
	}
	c.get("/api/public/media/nope", nil, http.StatusNotFound)
}

func TestValidatorFindsViolations(t *testing.T) {
	v := lftesting.Validator(t)
	bad := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"id":1}],"meta":{}}`))
	}))
	for _, target := range []string{"/api/public/models", "/api/public/models?limit=abc", "/api/public/nope", "/elsewhere"} {
		bad.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
	}
	kinds := map[string]int{}
	for _, x := range v.Violations() {
		kinds[x.Kind]++
	}
	if kinds["response"] != 2 || kinds["request"] != 1 || kinds["route"] != 1 {
		t.Errorf("violations %v", v.Violations())
	}
	v.Reset()
	if len(v.Violations()) != 0 {
		t.Error("Reset kept violations")
	}
}

func TestPromptNameWithoutEncoding(t *testing.T) {
	// The real route is a catch-all, so an unencoded folder name also works,
	// although the spec asks clients to encode it (so no validator here).
	c := unvalidated(t, lftest.V4, smallProject())
	if m := c.get("/api/public/v2/prompts/folder/sub/prompt", nil, http.StatusOK); m["name"] != "folder/sub/prompt" {
		t.Errorf("name %v", m["name"])
	}
}

func TestInProcessHandler(t *testing.T) {
	s := lftest.New(lftest.Options{Mode: lftest.V3})
	_, pk, sk := s.AddGeneratedProject(smallProject())
	req := httptest.NewRequest(http.MethodGet, "/api/public/traces?limit=5", nil)
	req.SetBasicAuth(pk, sk)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"totalItems":40`) {
		t.Errorf("in-process: %d %.200s", rec.Code, rec.Body.String())
	}
}

// TestRemoveProject: a removed project's keys are refused like unknown
// keys, and the other projects are served as before.
func TestRemoveProject(t *testing.T) {
	s := lftesting.NewServer(t, lftest.Options{})
	id, pk, sk := s.AddGeneratedProject(smallProject())
	_, pk2, sk2 := s.AddProject("stays")
	gone := newClient(t, s, lftesting.Keys{PublicKey: pk, SecretKey: sk})
	stays := newClient(t, s, lftesting.Keys{PublicKey: pk2, SecretKey: sk2})
	if r := gone.do("/api/public/projects", nil, true); r.status != 200 {
		t.Fatalf("before removal: %d %s", r.status, r.body)
	}
	if err := s.RemoveProject(id); err != nil {
		t.Fatal(err)
	}
	if s.Project(id) != nil {
		t.Error("the removed project is still served")
	}
	if r := gone.do("/api/public/projects", nil, true); r.status != 401 || !strings.Contains(string(r.body), "Invalid public key") {
		t.Errorf("after removal: %d %s, want 401 Invalid public key", r.status, r.body)
	}
	if r := stays.do("/api/public/projects", nil, true); r.status != 200 {
		t.Errorf("another project after the removal: %d %s", r.status, r.body)
	}
	if err := s.RemoveProject(id); err != nil {
		t.Errorf("removing it again: %v", err)
	}
}
