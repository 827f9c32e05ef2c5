package lftest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a v4 server with no rate
// limits, no faults and no validation.
type Options struct {
	// Mode is V4 (default) or V3.
	Mode Mode
	// Version is reported by /api/public/health; defaults by mode.
	Version string
	// Now is the server's clock (rate-limit windows, signed URL expiry).
	Now func() time.Time
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// RateLimits are per-bucket limits (fixed windows per organization);
	// buckets without an entry are unlimited, as on self-hosted Langfuse.
	RateLimits map[Bucket]RateLimit
	// Faults are injected into /api/public requests (see Faults).
	Faults Faults
	// Validator, when set, checks every request and response against the
	// OpenAPI spec and records violations.
	Validator *Validator
	// OrganizationID and OrganizationName are reported by /api/public/projects.
	OrganizationID, OrganizationName string
	// AzureMedia hands out media upload URLs shaped like Azure SAS URLs
	// (sv, sr=b, sp=w), whose PUT needs x-ms-blob-type: BlockBlob.
	AzureMedia bool
}

// Server is a Langfuse-compatible HTTP server for tests and demos. Use it
// like httptest.Server: New, then Start and URL, or Handler for in-process
// use. It serves the read APIs of the mode it imitates from the projects
// added to it.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	handler http.Handler
	signKey []byte

	mu       sync.RWMutex
	projects map[string]*Project
	keys     map[string]apiKey // by public key

	limiter *rateLimiter
	faults  *faultInjector
	stats   *statsRecorder

	srv *http.Server
	ln  net.Listener
	url string
}

type apiKey struct {
	secret    string
	projectID string
}

// New returns an unstarted server.
func New(opts Options) *Server {
	if opts.Mode == 0 {
		opts.Mode = V4
	}
	if opts.Version == "" {
		opts.Version = map[Mode]string{V3: "3.225.4", V4: "4.16.0"}[opts.Mode]
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OrganizationID == "" {
		opts.OrganizationID = "org-lftest"
	}
	if opts.OrganizationName == "" {
		opts.OrganizationName = "lftest organization"
	}
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now, projects: map[string]*Project{}, keys: map[string]apiKey{},
		limiter: newRateLimiter(opts.RateLimits), faults: newFaultInjector(opts.Faults), stats: newStatsRecorder()}
	sum := sha256.Sum256([]byte(fmt.Sprintf("lftest-media-%p", s)))
	s.signKey = sum[:]
	var h http.Handler = http.HandlerFunc(s.serve)
	if opts.Validator != nil {
		h = opts.Validator.Middleware(h)
	}
	s.handler = s.countRequests(s.injectFaults(h))
	return s
}

// NewServer returns a started server.
func NewServer(opts Options) *Server {
	s := New(opts)
	s.Start()
	return s
}

// Start listens on 127.0.0.1 on a free port and serves in the background.
// It panics if no port can be opened, as httptest.Server.Start does.
func (s *Server) Start() {
	if s.srv != nil {
		panic("lftest: server already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("lftest: listen on 127.0.0.1: %v", err))
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	go func() { _ = s.srv.Serve(ln) }()
}

// URL is the base URL of a started server, e.g. http://127.0.0.1:34567.
func (s *Server) URL() string { return s.url }

// Close stops the server and closes open connections.
func (s *Server) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// Handler returns the server's handler for in-process use. Connection
// resets and truncated responses need a real connection (Start); with a
// ResponseRecorder they abort the handler instead.
func (s *Server) Handler() http.Handler { return s.handler }

// Mode returns the API generation the server imitates.
func (s *Server) Mode() Mode { return s.opts.Mode }

// AddProject creates an empty, writable project with an API key pair.
func (s *Server) AddProject(name string) (projectID, publicKey, secretKey string) {
	s.mu.Lock()
	n := len(s.projects)
	s.mu.Unlock()
	p := NewProject(fmt.Sprintf("project-%d-%s", n+1, slugify(name)), name)
	return s.AddGeneratedProject(p)
}

// AddGeneratedProject serves p (for example from Generate) under a new API
// key pair. Keys are derived from the project id, so they are stable.
func (s *Server) AddGeneratedProject(p *Project) (projectID, publicKey, secretKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[p.ID] = p
	sum := sha256.Sum256([]byte(p.ID))
	h := hex.EncodeToString(sum[:])
	publicKey, secretKey = "pk-lf-"+uuidFormat(h[:32]), "sk-lf-"+uuidFormat(h[32:])
	for i := 2; ; i++ {
		if _, taken := s.keys[publicKey]; !taken {
			break
		}
		publicKey = fmt.Sprintf("pk-lf-%s-%d", uuidFormat(h[:32]), i)
	}
	s.keys[publicKey] = apiKey{secret: secretKey, projectID: p.ID}
	return p.ID, publicKey, secretKey
}

// RemoveProject stops serving project id: its keys are refused from now
// on, as after a project is deleted (web/src/features/projects/server/
// projectsRouter.ts `delete`: its API keys are dropped from the cache and
// the database, so apiAuth.ts answers "Invalid public key"), and its
// memory and files are freed.
func (s *Server) RemoveProject(id string) error {
	s.mu.Lock()
	p := s.projects[id]
	delete(s.projects, id)
	for pk, k := range s.keys {
		if k.projectID == id {
			delete(s.keys, pk)
		}
	}
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Close()
}

// Project returns a served project by id, or nil.
func (s *Server) Project(id string) *Project {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.projects[id]
}

func slugify(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// call is one authenticated API request being served.
type call struct {
	s      *Server
	p      *Project
	r      *http.Request
	q      url.Values
	params map[string]string
	now    time.Time
	trc    tracing
}

// tr returns the project's tracing data, fixed for the whole request.
func (c *call) tr() tracing {
	if c.trc == nil {
		c.trc = c.p.trFor(c.s.opts.Mode)
	}
	return c.trc
}

func (c *call) model(id string) *Model {
	c.p.mu.RLock()
	defer c.p.mu.RUnlock()
	for _, m := range c.p.models {
		if m.ID == id {
			return m
		}
	}
	return nil
}

const eventsOnlyMessage = "This endpoint is not available on deployments running in Langfuse v4 events_only mode. Learn more about Langfuse v4 at: https://langfuse.com/docs/v4"

// serve routes an API request: like createAuthedProjectAPIRoute, it refuses
// legacy routes in events_only mode before authenticating, then checks the
// key, then the rate limit, then runs the handler.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, mediaPathPrefix) {
		s.serveMediaDownload(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, uploadPathPrefix) {
		s.serveMediaUpload(w, r)
		return
	}
	rt, params, allowed := matchRoute(r.Method, r.URL.EscapedPath())
	if rt == nil {
		if len(allowed) > 0 {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method not allowed", "error": "MethodNotAllowedError"})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>404: This page could not be found</title></head><body>404 | This page could not be found.</body></html>")
		return
	}
	if rt.legacy && s.opts.Mode == V4 {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": eventsOnlyMessage})
		return
	}
	c := &call{s: s, r: r, q: r.URL.Query(), params: params, now: s.now()}
	if !rt.public {
		p, err := s.authenticate(r)
		if err != nil {
			writeError(w, err)
			return
		}
		c.p = p
		bucket := rt.bucket
		if bucket == "" {
			bucket = BucketPublicAPI
		}
		if rl := s.limiter.consume(bucket, c.now); rl != nil {
			s.stats.rateLimited()
			writeRateLimited(w, rl.retryAfter, rl.limit, rl.remaining, c.now)
			return
		}
	}
	body, err := rt.h(c)
	if err != nil {
		writeError(w, err)
		return
	}
	if sb, ok := body.(statusBody); ok {
		if sb.status == http.StatusNoContent {
			w.WriteHeader(sb.status)
			return
		}
		writeJSON(w, sb.status, sb.body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// authenticate checks Basic auth as ApiAuthService does and returns the
// key's project. Messages follow web/src/features/public-api/server/apiAuth.ts.
func (s *Server) authenticate(r *http.Request) (*Project, error) {
	h := r.Header.Get("Authorization")
	unauthorized := func(msg string) error { return &apiError{http.StatusUnauthorized, map[string]any{"message": msg}} }
	if h == "" {
		return nil, unauthorized("No authorization header")
	}
	const hostHint = ". Confirm that you've configured the correct host."
	switch {
	case strings.HasPrefix(h, "Basic "):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		pk, sk, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok || pk == "" || sk == "" {
			return nil, unauthorized("Invalid authorization header" + hostHint)
		}
		s.mu.RLock()
		key, found := s.keys[pk]
		p := s.projects[key.projectID]
		s.mu.RUnlock()
		if !found {
			return nil, unauthorized("Invalid public key" + hostHint)
		}
		if key.secret != sk {
			return nil, unauthorized("Invalid credentials" + hostHint)
		}
		return p, nil
	case strings.HasPrefix(h, "Bearer "):
		s.mu.RLock()
		_, found := s.keys[strings.TrimPrefix(h, "Bearer ")]
		s.mu.RUnlock()
		if !found {
			return nil, unauthorized("Invalid public key" + hostHint)
		}
		// A public key alone grants the "scores" access level, which no
		// read route accepts.
		return nil, &apiError{http.StatusForbidden, map[string]any{"message": "Access denied - insufficient permissions for this endpoint"}}
	}
	return nil, unauthorized("Invalid authorization header")
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	var b []byte
	var err error
	if enc, ok := body.(encodedJSON); ok {
		b = enc
	} else {
		b, err = marshalJSON(body)
	}
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error","error":"response is not JSON-serialisable"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// As the real server (Next.js) does for a JSON body; a client can then
	// read a megabyte page into a buffer of the right size.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if enc, ok := body.(encodedJSON); ok {
		// Written (every wrapper of w copies or sends): the page buffer of
		// hObservationsV2 is free for the next page.
		pages.put(enc)
	}
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, ae.body)
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error", "error": err.Error()})
}

// jsDateString formats like JavaScript's Date.prototype.toString in UTC, as
// the real server's X-RateLimit-Reset header does.
func jsDateString(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 2006 15:04:05") + " GMT+0000 (Coordinated Universal Time)"
}

// writeRateLimited sends a 429 like RateLimitService.sendRateLimitResponse.
func writeRateLimited(w http.ResponseWriter, retryAfter time.Duration, limit, remaining int, now time.Time) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	reset := now.Add(retryAfter)
	h := w.Header()
	h.Set("Retry-After", fmt.Sprint(secs))
	h.Set("X-RateLimit-Limit", fmt.Sprint(limit))
	h.Set("X-RateLimit-Remaining", fmt.Sprint(remaining))
	h.Set("X-RateLimit-Reset", jsDateString(reset))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Rate limit exceeded", "code": "rate_limited",
		"details": map[string]any{"retryAfterSeconds": secs, "limit": limit, "remaining": max(0, remaining), "resetAt": iso(reset)}})
}

// Stats are the server's request counters.
type Stats struct {
	// Requests counts requests by route, e.g. "GET /api/public/v2/observations"
	// (the route pattern, not the concrete path). Unknown paths count under
	// "GET (unrouted)".
	Requests map[string]int
	// Total is the number of requests received.
	Total int
	// Faults counts injected faults by kind.
	Faults map[FaultKind]int
	// RateLimited counts 429s sent by the rate limiter (not by faults).
	RateLimited int
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() { s.stats.reset() }

// Requests returns how many requests a route received, by its pattern,
// e.g. s.Requests("GET /api/public/v2/observations").
func (s *Server) Requests(route string) int { return s.Stats().Requests[route] }

type statsRecorder struct {
	mu sync.Mutex
	st Stats
}

func newStatsRecorder() *statsRecorder {
	r := &statsRecorder{}
	r.reset()
	return r
}

func (r *statsRecorder) reset() {
	r.mu.Lock()
	r.st = Stats{Requests: map[string]int{}, Faults: map[FaultKind]int{}}
	r.mu.Unlock()
}

func (r *statsRecorder) request(route string) {
	r.mu.Lock()
	r.st.Requests[route]++
	r.st.Total++
	r.mu.Unlock()
}

func (r *statsRecorder) fault(k FaultKind) {
	r.mu.Lock()
	r.st.Faults[k]++
	r.mu.Unlock()
}

func (r *statsRecorder) rateLimited() {
	r.mu.Lock()
	r.st.RateLimited++
	r.mu.Unlock()
}

func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{Requests: map[string]int{}, Faults: map[FaultKind]int{}, Total: r.st.Total, RateLimited: r.st.RateLimited}
	for k, v := range r.st.Requests {
		st.Requests[k] = v
	}
	for k, v := range r.st.Faults {
		st.Faults[k] = v
	}
	return st
}

// routeKey names the route a request is counted under.
func routeKey(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, mediaPathPrefix) {
		return r.Method + " " + mediaPathPrefix + "{projectId}/{mediaId}"
	}
	if strings.HasPrefix(r.URL.Path, uploadPathPrefix) {
		return r.Method + " " + uploadPathPrefix + "{projectId}/{mediaId}"
	}
	if rt, _, _ := matchRoute(r.Method, r.URL.EscapedPath()); rt != nil {
		return r.Method + " " + rt.pattern
	}
	return r.Method + " (unrouted)"
}

func (s *Server) countRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := routeKey(r)
		s.stats.request(key)
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.Debug("lftest request", "route", key, "query", r.URL.RawQuery, "status", rec.status, "duration", time.Since(start))
	})
}

// statusRecorder remembers the status for logging and passes everything on.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// bufferedResponse collects a response so that it can be checked or cut.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) copyHeaders(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = slices.Clone(v)
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
