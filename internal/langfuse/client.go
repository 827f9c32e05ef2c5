package langfuse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxResponseBytes bounds one response body; Langfuse Cloud answers at most 5 MB, a large
// self-hosted page of observations with I/O can be far bigger, nothing legitimate is this big.
const maxResponseBytes = 1 << 30

// Client talks to one Langfuse project through its public API. It is safe for concurrent use.
type Client struct {
	baseURL    string // scheme://host[/prefix], no trailing slash
	publicKey  string
	secretKey  string
	token      string // the Basic credentials, to redact if echoed
	keysHint   string
	http       *http.Client
	log        *slog.Logger
	userAgent  string
	maxRetries int
	timeout    time.Duration
	maxWait    time.Duration
	backoff    func(int) time.Duration
	clock      Clock
	limiters   map[Bucket]*limiter
	gzipOTLP   bool // Config.Compression for this base URL

	logged sync.Map // one-time notices already logged (unknown fields, deprecations)
	// answered: Langfuse has answered a request of this client (any status),
	// so a refused connection is no longer a wrong host or port.
	answered atomic.Bool
}

// New validates cfg, fills in the defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:    strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"),
		publicKey:  cfg.PublicKey,
		secretKey:  cfg.SecretKey,
		token:      basicToken(cfg.PublicKey, cfg.SecretKey),
		keysHint:   cfg.KeysHint,
		http:       cfg.HTTPClient,
		log:        cfg.Logger,
		userAgent:  cfg.UserAgent,
		maxRetries: cfg.MaxRetries,
		timeout:    cfg.RequestTimeout,
		maxWait:    cfg.MaxWait,
		backoff:    cfg.Backoff,
		clock:      cfg.Clock,
		limiters:   map[Bucket]*limiter{},
		gzipOTLP:   gzipOTLP(cfg.Compression, cfg.BaseURL),
	}
	if c.keysHint == "" {
		c.keysHint = DefaultKeysHint
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // the default 2 would reconnect for every parallel request
		c.http = &http.Client{Transport: t}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.timeout == 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.maxWait == 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	for _, b := range Buckets() {
		n := cfg.Concurrency[b]
		if n == 0 {
			n = DefaultConcurrency
		}
		c.limiters[b] = newLimiter(n)
	}
	return c, nil
}

// BaseURL returns the deployment the Client talks to.
func (c *Client) BaseURL() string { return c.baseURL }

// String shows the deployment and public key, never the secret key.
func (c *Client) String() string {
	return fmt.Sprintf("langfuse.Client{BaseURL: %q, PublicKey: %q, SecretKey: %s}", c.baseURL, c.publicKey, redacted)
}

// GoString keeps %#v from printing the secret key.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps slog from printing the secret key.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseURL), slog.String("public_key", c.publicKey))
}

func (c *Client) redact(s string) string { return redactSecrets(s, c.secretKey, c.token) }

// op describes one endpoint call.
type op struct {
	method string
	path   string // escaped path below the base URL, or the whole URL when external
	query  url.Values
	bucket Bucket
	body   func() (io.ReadCloser, error) // nil: no body; called once per attempt
	size   int64
	header http.Header
	// idempotent: sending it twice has the effect of sending it once, so it may be retried
	// even after the server may have seen it.
	idempotent bool
	// external: a URL outside Langfuse (presigned upload): never send the keys there.
	external bool
	retries  int // >= 0 overrides the Client's MaxRetries
	timeout  time.Duration
	// bodyOptional: a 2xx answer that is not JSON is accepted without decoding.
	bodyOptional bool
}

func newOp(method, path string, bucket Bucket) *op {
	return &op{method: method, path: path, bucket: bucket, idempotent: method == http.MethodGet, retries: -1}
}

// withJSON sets v, marshalled once, as the body.
func (o *op) withJSON(v any) (*op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s body: %w", o.method, o.path, err)
	}
	return o.withBytes(b, "application/json"), nil
}

func (o *op) withBytes(b []byte, contentType string) *op {
	o.body = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	o.size = int64(len(b))
	o.setHeader("Content-Type", contentType)
	return o
}

func (o *op) setHeader(k, v string) {
	if o.header == nil {
		o.header = http.Header{}
	}
	o.header.Set(k, v)
}

// display is the path for messages and logs: escaped, without query.
func (o *op) display() string {
	if !o.external {
		return o.path
	}
	u, err := url.Parse(o.path)
	if err != nil {
		return "(unparsable upload URL)"
	}
	return sanitizeURL(u)
}

func (o *op) host() string {
	u, err := url.Parse(o.path)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// decodable reports whether a 2xx body is to be decoded.
func (o *op) decodable(body []byte) bool {
	return !o.bodyOptional || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
}

func (c *Client) timeoutFor(o *op) time.Duration {
	if o.timeout > 0 {
		return o.timeout
	}
	return c.timeout
}

// call runs o with retries and decodes a 2xx JSON body into out (unless out is nil).
func (c *Client) call(ctx context.Context, o *op, out any) error {
	retries := c.maxRetries
	if o.retries >= 0 {
		retries = o.retries
	}
	start := c.clock.Now()
	for attempt := 1; ; attempt++ {
		r := c.do(ctx, o)
		if r.err == nil && r.status >= 200 && r.status < 300 && out != nil && o.decodable(r.body) {
			if fd, ok := out.(interface{ decodeFast([]byte) bool }); ok && fd.decodeFast(r.body) {
				// Decoded (fastjson.go), and every value decoded is a copy: the
				// buffer can hold the next page. Anything unusual takes
				// encoding/json below.
				reuseBody(r.body)
				r.body = nil
			} else if err := json.Unmarshal(r.body, out); err != nil {
				r.err, r.cut = err, isTruncation(err, r.body)
			}
		}
		retry, err := c.shouldRetry(ctx, o, &r)
		if err == nil {
			return nil
		}
		if !retry {
			return err
		}
		limit := retries
		never := !o.external && !c.answered.Load() && errors.Is(err, ErrUnreachable)
		if never {
			limit = min(retries, unreachableRetries)
		}
		if attempt > limit {
			took := c.clock.Now().Sub(start).Round(100 * time.Millisecond)
			if never {
				return fmt.Errorf("%w (gave up after %d attempts in %v: a server that never answered is retried %d times, one that answered before %d times)",
					err, attempt, took, limit, c.maxRetries)
			}
			return fmt.Errorf("%w (gave up after %d attempts in %v)", err, attempt, took)
		}
		wait := r.retryAfter // already a pause of the whole bucket, waited out in acquire
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "Langfuse request failed, retrying",
			slog.String("method", o.method), slog.String("path", o.display()),
			slog.Int("attempt", attempt), slog.String("wait", wait.String()), slog.String("error", err.Error()))
		if r.retryAfter <= 0 {
			if err := c.clock.Sleep(ctx, wait); err != nil {
				return fmt.Errorf("%s %s: waiting to retry: %w", o.method, o.display(), err)
			}
		}
	}
}

// do performs one attempt: a slot of the bucket, the request, the whole response body.
func (c *Client) do(ctx context.Context, o *op) attemptResult {
	lim := c.limiters[o.bucket]
	release, err := lim.acquire(ctx, c.clock)
	if err != nil {
		return attemptResult{err: err, permanent: true}
	}
	defer release()

	actx, cancel := context.WithTimeout(ctx, c.timeoutFor(o))
	defer cancel()
	var sent atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	})
	req, err := c.newRequest(actx, o)
	if err != nil {
		return attemptResult{err: err, permanent: true}
	}
	start := c.clock.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "Langfuse request",
			slog.String("method", o.method), slog.String("path", o.display()),
			slog.String("error", c.errDetail(err)))
		return attemptResult{err: err, sent: sent.Load()}
	}
	defer resp.Body.Close()
	if !o.external {
		c.answered.Store(true)
	}
	body, err := readBody(resp)
	r := attemptResult{status: resp.StatusCode, header: resp.Header, body: body, sent: true}
	switch {
	case err != nil:
		r.err, r.cut = fmt.Errorf("reading the response: %w", err), true
	case len(body) > maxResponseBytes:
		r.err, r.permanent = fmt.Errorf("response larger than %d bytes: request smaller pages", maxResponseBytes), true
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "Langfuse request",
		slog.String("method", o.method), slog.String("path", o.display()),
		slog.Int("status", r.status), slog.Int("bytes", len(body)),
		slog.Duration("took", c.clock.Now().Sub(start)))
	c.observeLimits(lim, &r)
	return r
}

func (c *Client) newRequest(ctx context.Context, o *op) (*http.Request, error) {
	u := o.path
	if !o.external {
		u = c.baseURL + o.path
		if len(o.query) > 0 {
			u += "?" + o.query.Encode()
		}
	}
	var body io.ReadCloser
	if o.body != nil {
		b, err := o.body()
		if err != nil {
			return nil, fmt.Errorf("opening the request body: %w", err)
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, o.method, u, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("building the request: %s", c.errDetail(err))
	}
	if o.body != nil {
		req.ContentLength = o.size
		req.GetBody = o.body
	}
	for k, vs := range o.header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.userAgent)
	if !o.external {
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(c.publicKey, c.secretKey)
	}
	return req, nil
}

// escapePath joins escaped path segments. Names of prompts and datasets contain "/", spaces
// and any Unicode; each becomes exactly one segment, and "." or ".." cannot climb the path.
func escapePath(prefix string, segments ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range segments {
		b.WriteByte('/')
		e := url.PathEscape(s)
		if strings.Trim(e, ".") == "" {
			e = strings.ReplaceAll(e, ".", "%2E")
		}
		b.WriteString(e)
	}
	return b.String()
}

// readBody reads a response body of at most maxResponseBytes+1 bytes. A page
// of observations is megabytes: when the length is announced the buffer is
// allocated once at its size, rather than grown from 512 bytes by doubling
// (twice the bytes allocated and copied, per page).
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxResponseBytes+1)
	if n := resp.ContentLength; n > 0 && n <= maxResponseBytes {
		// One byte more, so that a body longer than announced shows.
		var buf []byte
		select {
		case b := <-bodies:
			if int64(cap(b)) > n {
				buf = b[:0]
			}
		default:
		}
		if buf == nil {
			buf = make([]byte, 0, n+1)
		}
		for {
			m, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			switch {
			case err == io.EOF:
				return buf, nil
			case err != nil:
				return buf, err
			case len(buf) == cap(buf):
				rest, err := io.ReadAll(r)
				return append(buf, rest...), err
			}
		}
	}
	return io.ReadAll(r)
}

// bodies holds the buffers of pages that were decoded, for the next
// response: an export reads a thousand pages of megabytes per million rows,
// and a new zeroed buffer for each is work for the allocator and the
// collector. A sync.Pool would lose them at every collection, which come
// every few pages; one serves a listing that reads page after page (each
// kept buffer is live heap, which the memory limit makes costly).
var bodies = make(chan []byte, 1)

// reuseBody gives body's buffer to the next readBody. Nothing may refer to
// body afterwards.
func reuseBody(body []byte) {
	if cap(body) < 64<<10 {
		return // not worth keeping
	}
	select {
	case bodies <- body[:0]:
	default:
	}
}
