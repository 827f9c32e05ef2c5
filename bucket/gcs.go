package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/storage"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

const (
	// gcsChunkSize is the resumable upload's chunk: a writer holds one in
	// memory, and the client resends it when a chunk request fails.
	gcsChunkSize = 8 << 20
	// gcsADCHint says how a Google Cloud user signs in.
	gcsADCHint = "sign in with `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS " +
		"to a service account key file, or run on Google Cloud with a service account attached " +
		"(for HMAC keys set GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY, or --gcs-hmac)"
)

// Test hooks: whether this process runs on Google Cloud (the metadata
// server's probe, which tests must not send), and the HTTP client that
// fetches tokens.
var (
	gcsOnGCE       = credentials.OnGCE
	gcsTokenClient *http.Client
)

// useGCSHMAC reports whether a gs:// location goes through the S3 driver
// (GCS's XML API with an HMAC key) instead of the JSON API with Application
// Default Credentials: when asked to, when an HMAC variable is set, or when
// an S3 endpoint is given, which only the XML API can use.
func useGCSHMAC(opts Options) bool {
	return opts.GCSHMAC || opts.S3Endpoint != "" ||
		os.Getenv("GCS_HMAC_ACCESS_KEY_ID") != "" || os.Getenv("GCS_HMAC_SECRET_ACCESS_KEY") != "" ||
		// Before ADC, gs:// also took its HMAC key from the AWS variables;
		// a GCS HMAC access id starts with GOOG (GOOG1E… for a service
		// account), which no AWS access key id does, so those users keep
		// the XML API without a flag.
		strings.HasPrefix(os.Getenv("AWS_ACCESS_KEY_ID"), "GOOG")
}

// openGCS opens a gs:// location on the JSON API and checks it, as Open
// does for s3://.
func openGCS(ctx context.Context, l location, opts Options) (Bucket, error) {
	d, err := newGCS(ctx, l, opts)
	if err != nil {
		return nil, err
	}
	return openChecked(ctx, d, d.check, opts)
}

// gcsBucket talks to Google Cloud Storage's JSON API through the official
// client, signed in with Application Default Credentials.
type gcsBucket struct {
	client  *storage.Client
	bkt     *storage.BucketHandle
	loc     location
	retry   RetryPolicy
	secrets []string // strings of the credential file that must never be printed
}

var _ Bucket = (*gcsBucket)(nil)

func newGCS(ctx context.Context, l location, opts Options) (*gcsBucket, error) {
	b := &gcsBucket{loc: l, retry: opts.Retry}
	copts := []option.ClientOption{
		storage.WithJSONReads(),
		storage.WithDisabledClientMetrics(),
	}
	emulator := os.Getenv("STORAGE_EMULATOR_HOST") != ""
	if opts.GCSEndpoint != "" {
		u, err := url.Parse(opts.GCSEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("%w: GCS endpoint %q: want http(s)://host[:port]", ErrBadLocation, redact(opts.GCSEndpoint))
		}
		copts = append(copts, option.WithEndpoint(strings.TrimSuffix(u.String(), "/")+"/storage/v1/"))
	}
	if !emulator {
		creds, secrets, err := gcsCredentials(l)
		b.secrets = secrets
		if err != nil {
			return nil, err
		}
		copts = append(copts, option.WithAuthCredentials(creds))
	}
	client, err := storage.NewClient(ctx, copts...)
	if err != nil {
		return nil, &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("%s: cannot set up the GCS client (%s): %s", l, b.scrub(err.Error()), gcsADCHint)}
	}
	// The portable layer retries; the client retrying too would multiply
	// attempts. Writes get their own retryer (see NewWriter).
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	b.client = client
	b.bkt = client.Bucket(l.bucket)
	return b, nil
}

// gcsCredentials finds Application Default Credentials the way the client
// libraries do (GOOGLE_APPLICATION_CREDENTIALS, gcloud's file, the metadata
// server), but says what to do when there are none. It also returns the
// secrets of the credential file, to keep them out of messages.
func gcsCredentials(l location) (*auth.Credentials, []string, error) {
	file := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	where := "GOOGLE_APPLICATION_CREDENTIALS"
	if file == "" {
		file, where = gcloudADCFile(), "gcloud's application default credentials"
		if _, err := os.Stat(file); err != nil {
			file = ""
		}
	}
	var secrets []string
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, &kindError{kind: ErrBadCredentials, err: err,
				msg: fmt.Sprintf("%s: cannot read the credential file %s (from %s): %v: %s", l, file, where, reason(err), gcsADCHint)}
		}
		secrets = credentialSecrets(data)
	} else if !gcsOnGCE() {
		return nil, nil, &kindError{kind: ErrBadCredentials,
			msg: fmt.Sprintf("%s: no Google Cloud credentials found: %s", l, gcsADCHint)}
	}
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{
		Scopes: []string{storage.ScopeFullControl},
		Client: gcsTokenClient,
	})
	if err != nil {
		b := gcsBucket{secrets: secrets}
		return nil, secrets, &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("%s: unusable Google Cloud credentials in %s (%s): %s", l, where, b.scrub(err.Error()), gcsADCHint)}
	}
	return creds, secrets, nil
}

// reason is a file error without the path the message already names.
func reason(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// gcloudADCFile is where `gcloud auth application-default login` stores
// credentials, as the client libraries look for it.
func gcloudADCFile() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "gcloud", "application_default_credentials.json")
	}
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
}

// credentialSecrets returns the secret fields of a credential file.
func credentialSecrets(data []byte) []string {
	var f map[string]any
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"private_key", "private_key_id", "client_secret", "refresh_token"} {
		if s, ok := f[k].(string); ok && len(s) >= 8 {
			out = append(out, s)
			// A PEM key may be quoted with its line breaks escaped or not.
			out = append(out, strings.ReplaceAll(s, "\n", `\n`))
			for line := range strings.SplitSeq(s, "\n") {
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
					out = append(out, line)
				}
			}
		}
	}
	return out
}

// scrub removes the credential file's secrets and URL queries (a resumable
// upload's session URL is itself a credential) from a message.
func (b *gcsBucket) scrub(s string) string {
	return bearer.ReplaceAllString(scrubSecrets(s, b.secrets), "${1}xxxxx")
}

var (
	bearer     = regexp.MustCompile(`(?i)(bearer\s+|ya29\.)[A-Za-z0-9._~+/=-]+`)
	permission = regexp.MustCompile(`storage\.[a-zA-Z]+\.[a-zA-Z]+`)
)

func (b *gcsBucket) String() string { return b.loc.String() }
func (b *gcsBucket) Close() error   { return b.client.Close() }

func (b *gcsBucket) objectKey(key string) string { return b.loc.key(key) }

func (b *gcsBucket) name(key string) string { return b.loc.name(key) }

// check lists one object: it needs only storage.objects.list, which any role
// that can read the lake has (storage.buckets.get, for the bucket's
// metadata, is often not granted), and tells a missing bucket (404) from
// rejected credentials (401) and missing permission (403).
func (b *gcsBucket) check(ctx context.Context) error {
	it := b.bkt.Objects(ctx, &storage.Query{Prefix: b.objectKey("")})
	it.PageInfo().MaxSize = 1
	_, err := it.Next()
	if err == nil || err == iterator.Done {
		return nil
	}
	return b.fail("check", "", err)
}

func (b *gcsBucket) noBucket(err error) error {
	return &kindError{kind: ErrNoBucket, err: err,
		msg: fmt.Sprintf("gcs bucket %q does not exist: create it (gcloud storage buckets create gs://%s) or check the name", b.loc.bucket, b.loc.bucket)}
}

// opPermission is the IAM permission an operation needs, for messages when
// the store does not name it.
var opPermission = map[string]string{
	"check": "storage.objects.list", "list": "storage.objects.list",
	"open": "storage.objects.get", "read": "storage.objects.get", "stat": "storage.objects.get",
	"write": "storage.objects.create", "create": "storage.objects.create",
	"delete": "storage.objects.delete", "move": "storage.objects.create",
}

// fail turns a client error into one that names the object and, where
// callers branch on it, carries an error kind. Messages never hold a token,
// key or upload session URL.
func (b *gcsBucket) fail(op, key string, err error) error {
	name := b.name(key)
	var ge *googleapi.Error
	code := 0
	if errors.As(err, &ge) {
		code = ge.Code
	}
	var ae *auth.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: %w", op, name, err)
	case errors.Is(err, storage.ErrBucketNotExist):
		return b.noBucket(err)
	case errors.As(err, &ae):
		return &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("gcs bucket %q: the token service refused the credentials (%s): %s", b.loc.bucket, tokenProblem(ae), gcsADCHint)}
	case code == http.StatusUnauthorized:
		return &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("gcs bucket %q: credentials rejected (HTTP 401): %s", b.loc.bucket, gcsADCHint)}
	case code == http.StatusForbidden:
		perm := permission.FindString(ge.Message)
		if perm == "" {
			perm = opPermission[op]
		}
		return &kindError{kind: ErrPermission, err: err,
			msg: fmt.Sprintf("%s %s: permission denied: the signed-in account lacks %s on bucket %q: grant it a role that has it (roles/storage.objectUser reads and writes a lake)",
				op, name, perm, b.loc.bucket)}
	case code == http.StatusNotFound && strings.Contains(strings.ToLower(ge.Message), "bucket"):
		return b.noBucket(err)
	case errors.Is(err, storage.ErrObjectNotExist), code == http.StatusNotFound:
		return &kindError{kind: ErrNotFound, err: err, msg: name + ": not found"}
	case code == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %s: the object changed while it was being read: %w", op, name, safeError{err, b.scrub(err.Error())})
	}
	transient := storage.ShouldRetry(err)
	err = fmt.Errorf("%s %s: %w", op, name, safeError{err, b.scrub(err.Error())})
	if transient {
		return transientError{err}
	}
	return err
}

// tokenProblem is the token service's error code, never its whole answer,
// which could quote what was sent.
func tokenProblem(ae *auth.Error) string {
	var body struct {
		Error string `json:"error"`
	}
	status := 0
	if ae.Response != nil {
		status = ae.Response.StatusCode
	}
	if json.Unmarshal(ae.Body, &body) == nil && body.Error != "" && len(body.Error) < 64 && !strings.ContainsAny(body.Error, " \n") {
		return fmt.Sprintf("HTTP %d %s", status, body.Error)
	}
	if status != 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	return "no answer"
}

// safeError shows a scrubbed message but keeps the original for errors.Is
// and errors.As.
type safeError struct {
	err error
	msg string
}

func (e safeError) Error() string { return e.msg }
func (e safeError) Unwrap() error { return e.err }

// writeRetryer retries a write's requests: the resumable upload keeps its
// current chunk in memory, so unlike the caller's stream it can be resent.
func (b *gcsBucket) writeRetryer(o *storage.ObjectHandle) *storage.ObjectHandle {
	initial := max(b.retry.delay(1), time.Millisecond)
	return o.Retryer(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(b.retry.attempts()),
		storage.WithBackoff(gax.Backoff{Initial: initial, Max: max(b.retry.delay(8), initial), Multiplier: 2}),
		// The upload library's own judgement misses a connection closed
		// before an answer (EOF); resending a request of a write is safe.
		storage.WithErrorFunc(storage.ShouldRetry),
	)
}

func (b *gcsBucket) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Cancelling wctx abandons the resumable upload: GCS creates the object
	// only when the last chunk arrives, on Close.
	wctx, cancel := context.WithCancel(ctx)
	w := b.writeRetryer(b.bkt.Object(b.objectKey(key))).NewWriter(wctx)
	w.ChunkSize = gcsChunkSize
	return &gcsWriter{b: b, ctx: ctx, key: key, w: w, cancel: cancel}, nil
}

type gcsWriter struct {
	b      *gcsBucket
	ctx    context.Context
	key    string
	w      *storage.Writer
	cancel context.CancelFunc
	ended  bool
}

func (w *gcsWriter) Write(p []byte) (int, error) {
	if err := writable(w.ended, w.ctx, w.b.name(w.key)); err != nil {
		return 0, err
	}
	n, err := w.w.Write(p)
	if err != nil {
		return n, w.b.fail("write", w.key, err)
	}
	return n, nil
}

func (w *gcsWriter) Commit() error {
	if w.ended {
		return errWriterDone
	}
	w.ended = true
	defer w.cancel()
	if err := w.ctx.Err(); err != nil {
		w.cancel()
		_ = w.w.Close()
		return fmt.Errorf("write %s: %w", w.b.name(w.key), err)
	}
	if err := w.w.Close(); err != nil {
		if ctxErr := w.ctx.Err(); ctxErr != nil {
			return fmt.Errorf("write %s: %w", w.b.name(w.key), ctxErr)
		}
		return w.b.fail("write", w.key, err)
	}
	return nil
}

func (w *gcsWriter) Abort() error {
	if w.ended {
		return nil
	}
	w.ended = true
	w.cancel()
	_ = w.w.Close() // waits for the upload to stop; the error is the cancel
	return nil
}

func (b *gcsBucket) Open(ctx context.Context, key string) (Object, error) {
	a, err := b.bkt.Object(b.objectKey(key)).Attrs(ctx)
	if err != nil {
		return nil, b.fail("open", key, err)
	}
	return &gcsObject{b: b, ctx: ctx, key: key, size: a.Size, gen: a.Generation}, nil
}

// gcsObject reads with one ranged GET per ReadAt of the generation seen at
// Open, so reads never mix two versions of an overwritten object.
type gcsObject struct {
	b    *gcsBucket
	ctx  context.Context
	key  string
	size int64
	gen  int64
}

func (o *gcsObject) Size() int64  { return o.size }
func (o *gcsObject) Close() error { return nil }

func (o *gcsObject) ReadAt(p []byte, off int64) (int, error) {
	name := o.b.name(o.key)
	return readRange(p, off, o.size, name, func(off, end int64) (io.ReadCloser, error) {
		r, err := o.b.bkt.Object(o.b.objectKey(o.key)).Generation(o.gen).NewRangeReader(o.ctx, off, end-off)
		if err != nil {
			if errors.Is(err, storage.ErrObjectNotExist) {
				// The generation opened is gone: replaced or deleted.
				return nil, fmt.Errorf("read %s: the object changed or was deleted while it was being read", name)
			}
			return nil, o.b.fail("read", o.key, err)
		}
		return r, nil
	}, func(at int64, err error) error {
		return fmt.Errorf("read %s at %d: %w", name, at, safeError{err, o.b.scrub(err.Error())})
	})
}

func (b *gcsBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	a, err := b.bkt.Object(b.objectKey(key)).Attrs(ctx)
	if err != nil {
		return Attrs{}, b.fail("stat", key, err)
	}
	return Attrs{Key: key, Size: a.Size, ModTime: a.Updated}, nil
}

func (b *gcsBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	root := b.objectKey("")
	q := &storage.Query{Prefix: root + prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return err
	}
	// The iterator fetches the next page (up to 1000 objects) when this one
	// is used up.
	it := b.bkt.Objects(ctx, q)
	for {
		a, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return b.fail("list", prefix+"*", err)
		}
		key, ok := strings.CutPrefix(a.Name, root)
		if !ok {
			continue
		}
		if err := fn(Attrs{Key: key, Size: a.Size, ModTime: a.Updated}); err != nil {
			return err
		}
	}
}

func (b *gcsBucket) Delete(ctx context.Context, key string) error {
	err := b.bkt.Object(b.objectKey(key)).Delete(ctx)
	if err != nil {
		return ignoreNotFound(b.fail("delete", key, err))
	}
	return nil
}

// Create uploads with ifGenerationMatch=0, which GCS answers with 412 when
// the key exists.
func (b *gcsBucket) Create(ctx context.Context, key string, data []byte) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := b.bkt.Object(b.objectKey(key)).If(storage.Conditions{DoesNotExist: true}).NewWriter(wctx)
	// One request: small objects are sent whole.
	w.ChunkSize = 0
	if _, err := w.Write(data); err != nil {
		cancel()
		_ = w.Close()
		return b.fail("create", key, err)
	}
	err := w.Close()
	if err == nil {
		return nil
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusPreconditionFailed:
			return &kindError{kind: ErrExists, err: err, msg: b.name(key) + ": already exists"}
		case http.StatusConflict, http.StatusTooManyRequests:
			// Another change of the object is in flight: try again.
			return transientError{fmt.Errorf("create %s: %w", b.name(key), safeError{err, b.scrub(err.Error())})}
		}
	}
	return b.fail("create", key, err)
}

// Move copies src to dst on the server (a rewrite, which the client repeats
// until done for large objects), then deletes src.
func (b *gcsBucket) Move(ctx context.Context, src, dst string) error {
	_, err := b.bkt.Object(b.objectKey(dst)).CopierFrom(b.bkt.Object(b.objectKey(src))).Run(ctx)
	if err != nil {
		return b.fail("move", src, err)
	}
	return b.Delete(ctx, src)
}
