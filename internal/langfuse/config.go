package langfuse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/lakefuse/lakefuse/internal/ctxtime"
)

// Bucket names a Langfuse rate-limit resource. Langfuse Cloud counts requests per organization
// and bucket in fixed windows; every endpoint method of the Client knows its bucket, and the
// Client limits concurrency and pauses per bucket.
type Bucket string

// The buckets of Langfuse's RateLimitService that the Client's endpoints fall into.
const (
	BucketIngestion        Bucket = "ingestion"         // POST /ingestion, OTLP
	BucketPublicAPI        Bucket = "public-api"        // v2 observations, v3 scores, configs, models, comments, …
	BucketLegacy           Bucket = "public-api-legacy" // traces, v1 observations, sessions, v2 scores
	BucketDatasets         Bucket = "datasets"          // datasets, items, runs, run items
	BucketAnnotationQueues Bucket = "annotation-queues" // queues and their items
	BucketMediaUpload      Bucket = "media-upload"      // media upload URL, upload, patch
	BucketPrompts          Bucket = "prompts"           // prompts (not limited by Langfuse)
)

// Buckets lists every bucket the Client knows.
func Buckets() []Bucket {
	return []Bucket{BucketIngestion, BucketPublicAPI, BucketLegacy, BucketDatasets,
		BucketAnnotationQueues, BucketMediaUpload, BucketPrompts}
}

// Defaults used when the matching Config field is zero.
const (
	DefaultConcurrency    = 4
	DefaultMaxRetries     = 10
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxWait        = 5 * time.Minute
	DefaultUserAgent      = "lakefuse"
	DefaultKeysHint       = "LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY"
)

// Clock is the time source of the Client; tests replace it to make waits instant.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx.Err() in
	// the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

// Config configures a Client. Only BaseURL, PublicKey and SecretKey are required.
type Config struct {
	// BaseURL of the Langfuse deployment, e.g. https://cloud.langfuse.com or
	// http://localhost:3000/langfuse (a path prefix is kept).
	BaseURL   string
	PublicKey string
	// SecretKey is never printed: String, GoString and LogValue redact it and every error and
	// log line of the Client has it removed.
	SecretKey string `json:"-"`
	// KeysHint names where the keys came from, for the message of ErrUnauthorized
	// (default "LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY").
	KeysHint string

	HTTPClient *http.Client `json:"-"` // nil: a client with a pooled transport
	Logger     *slog.Logger `json:"-"` // nil: discard
	UserAgent  string       // default "lakefuse"

	// MaxRetries is how often one request is retried after a transient failure (0: default 10,
	// negative: never).
	MaxRetries int
	// RequestTimeout bounds one attempt, including reading the response body (default 2m).
	RequestTimeout time.Duration
	// MaxWait caps a single wait demanded by Retry-After or X-RateLimit-Reset (default 5m).
	MaxWait time.Duration
	// Concurrency caps the requests in flight per bucket (missing or 0: DefaultConcurrency).
	Concurrency map[Bucket]int

	// Backoff returns the wait before retry number attempt (1-based) when the server did not
	// say how long to wait. nil: exponential from 1s, capped at 30s, with jitter.
	Backoff func(attempt int) time.Duration `json:"-"`
	// Clock is the time source (nil: the real clock).
	Clock Clock `json:"-"`

	// Compression of OTLP requests: CompressGzip, CompressNone, or
	// CompressAuto (also ""): gzip unless the base URL's host is this
	// machine (localhost, 127.0.0.0/8, ::1), where compressing costs CPU on
	// both sides (an eighth of the demo's import) and saves no network. Langfuse
	// takes both (web/src/pages/api/public/otel/v1/traces/index.ts gunzips
	// only when Content-Encoding says gzip; its body parser has no limit).
	Compression string
}

// The values of Config.Compression.
const (
	CompressAuto = "auto"
	CompressGzip = "gzip"
	CompressNone = "none"
)

// ErrInvalidConfig is wrapped by every error Validate and New return.
var ErrInvalidConfig = errors.New("invalid Langfuse client configuration")

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		// A base URL that fails to parse is echoed; it might embed the secret key.
		errs = append(errs, errors.New(redactSecrets(fmt.Sprintf(format, args...), c.SecretKey)))
	}

	if strings.TrimSpace(c.BaseURL) == "" {
		add("base URL is empty: set LANGFUSE_BASE_URL (or LANGFUSE_HOST)")
	} else if u, err := url.Parse(c.BaseURL); err != nil {
		add("base URL %q does not parse: %v", c.BaseURL, err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			add("base URL %q must start with http:// or https://", sanitizeURL(u))
		case u.Host == "":
			add("base URL %q has no host", sanitizeURL(u))
		}
		if u.User != nil {
			add("base URL %q must not contain credentials: pass the keys separately", sanitizeURL(u))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			add("base URL %q must not have a query or fragment", sanitizeURL(u))
		}
	}
	checkKey := func(what, env, value, otherPrefix string) {
		switch {
		case value == "":
			add("%s is empty: set %s", what, env)
		case strings.HasPrefix(value, otherPrefix):
			// Do not echo the value: it may be the secret key.
			add("%s starts with %q: the public and secret keys look swapped", what, otherPrefix)
		case strings.IndexFunc(value, unicode.IsSpace) >= 0:
			add("%s contains whitespace: check %s for a stray newline or space", what, env)
		}
	}
	checkKey("public key", "LANGFUSE_PUBLIC_KEY", c.PublicKey, "sk-lf-")
	checkKey("secret key", "LANGFUSE_SECRET_KEY", c.SecretKey, "pk-lf-")
	if c.RequestTimeout < 0 {
		add("request timeout %v is negative", c.RequestTimeout)
	}
	if c.MaxWait < 0 {
		add("max wait %v is negative", c.MaxWait)
	}
	switch c.Compression {
	case "", CompressAuto, CompressGzip, CompressNone:
	default:
		add("compression %q is not one of auto, gzip, none", c.Compression)
	}
	known := map[Bucket]bool{}
	for _, b := range Buckets() {
		known[b] = true
	}
	for b, n := range c.Concurrency {
		if !known[b] {
			add("concurrency for unknown bucket %q (known: %v)", b, Buckets())
		}
		if n < 0 {
			add("concurrency for bucket %q is negative (%d)", b, n)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// String shows the configuration without the secret key.
func (c Config) String() string {
	return fmt.Sprintf("langfuse.Config{BaseURL: %q, PublicKey: %q, SecretKey: %s}",
		redactSecrets(c.BaseURL, c.SecretKey), c.PublicKey, redactedMark(c.SecretKey))
}

// GoString keeps %#v from printing the secret key.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog from printing the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		// An invalid base URL may carry the keys in its user info.
		slog.String("base_url", redactSecrets(c.BaseURL, c.SecretKey)),
		slog.String("public_key", c.PublicKey),
		slog.String("secret_key", redactedMark(c.SecretKey)),
	)
}

func redactedMark(secret string) string {
	if secret == "" {
		return "(empty)"
	}
	return redacted
}

const redacted = "[REDACTED]"

// sanitizeURL drops credentials, query and fragment: presigned URLs carry signatures in the
// query, and a base URL might carry keys in its user info.
func sanitizeURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	v.ForceQuery = false
	v.Fragment = ""
	v.RawFragment = ""
	return v.String()
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return ctxtime.Sleep(ctx, d)
}

// gzipOTLP says whether OTLP requests to baseURL are gzipped under
// compression (Config.Compression).
func gzipOTLP(compression, baseURL string) bool {
	switch compression {
	case CompressGzip:
		return true
	case CompressNone:
		return false
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.IsLoopback()
}
