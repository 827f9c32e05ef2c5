package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	gcsEndpoint = "https://storage.googleapis.com"
	// partSize is the multipart part size; with partConcurrency parts in
	// flight a writer holds about (partConcurrency+1) parts in memory.
	partSize        = 8 << 20
	partConcurrency = 2
	// abortGrace bounds how long a cancelled write may take to abort its
	// multipart upload before its requests are cancelled too.
	abortGrace = 30 * time.Second
)

// s3Bucket talks to S3 and to stores that speak its API: MinIO, and GCS
// through its XML API with HMAC keys.
type s3Bucket struct {
	client *s3.Client
	// manager is deprecated for feature/s3/transfermanager, not yet in
	// go.mod; moving is a contained change to NewWriter.
	//lint:ignore SA1019 see above
	uploader *manager.Uploader
	loc      location
	service  string // "s3" or "gcs", for messages
	credHint string // where credentials come from, for messages
	sse      string // server-side encryption of writes (sse.go)
	sseKey   string
}

var _ Bucket = (*s3Bucket)(nil)

func newS3(ctx context.Context, l location, opts Options) (*s3Bucket, error) {
	gcs := l.scheme == "gs"
	b := &s3Bucket{loc: l, service: "s3", sse: opts.SSE, sseKey: opts.SSEKMSKeyID,
		credHint: "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"}
	if gcs {
		b.service = "gcs"
		b.credHint = "check GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY (an HMAC key of a service account with access to the bucket)"
	}

	endpoint := opts.S3Endpoint
	if endpoint == "" && gcs {
		endpoint = gcsEndpoint
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("%w: S3 endpoint %q: want http(s)://host[:port]", ErrBadLocation, redact(endpoint))
		}
	}

	load := []func(*config.LoadOptions) error{
		// MinIO and GCS reject or mangle the newer default checksums.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	switch {
	case opts.Region != "":
		load = append(load, config.WithRegion(opts.Region))
	case gcs:
		load = append(load, config.WithRegion("auto"))
	}
	if opts.HTTPClient != nil {
		load = append(load, config.WithHTTPClient(opts.HTTPClient))
	}
	if gcs {
		id, secret := os.Getenv("GCS_HMAC_ACCESS_KEY_ID"), os.Getenv("GCS_HMAC_SECRET_ACCESS_KEY")
		switch {
		case id != "" && secret != "":
			load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
		case id != "" || secret != "":
			return nil, &kindError{kind: ErrBadCredentials,
				msg: "gcs: set both GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY, or neither to use the AWS variables"}
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("%s: load AWS configuration: %w", l, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	// Fail here, with a hint, rather than inside the first request.
	if cfg.Credentials == nil {
		return nil, &kindError{kind: ErrBadCredentials, msg: fmt.Sprintf("%s: no credentials found: %s", l, b.credHint)}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("%s: no usable credentials (%v): %s", l, err, b.credHint)}
	}

	b.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = opts.S3PathStyle || gcs
		// The portable layer retries; retrying here too would multiply attempts.
		o.Retryer = aws.NopRetryer{}
		if gcs {
			o.APIOptions = append(o.APIOptions, unsignedAcceptEncoding)
		}
	})
	//lint:ignore SA1019 see s3Bucket.uploader
	b.uploader = manager.NewUploader(b.client, func(u *manager.Uploader) {
		u.PartSize = partSize
		u.Concurrency = partConcurrency
		// Else the uploader asks for CRC32 part checksums, which GCS rejects.
		u.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// Parts sit in memory, so unlike the stream they can be resent.
		u.ClientOptions = append(u.ClientOptions, func(o *s3.Options) { o.Retryer = partRetryer(opts.Retry) })
	})
	return b, nil
}

// partRetryer retries the requests of an upload with the same policy as the
// portable layer, plus the SDK's own judgement of what is retryable.
func partRetryer(p RetryPolicy) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = p.attempts()
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(n int, _ error) (time.Duration, error) { return p.delay(n), nil })
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if isTransient(err) || statusOf(err) == http.StatusTooManyRequests {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// unsignedAcceptEncoding keeps Accept-Encoding out of the signature: Google's
// front end rewrites that header, so GCS never matches a signature over it
// (aws/aws-sdk-go-v2#1816). The header is still sent.
func unsignedAcceptEncoding(stack *middleware.Stack) error {
	var saved []string
	strip := middleware.FinalizeMiddlewareFunc("lakefuse.StripAcceptEncoding",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				saved = req.Header.Values("Accept-Encoding")
				req.Header.Del("Accept-Encoding")
			}
			return next.HandleFinalize(ctx, in)
		})
	restore := middleware.FinalizeMiddlewareFunc("lakefuse.RestoreAcceptEncoding",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok && len(saved) > 0 {
				req.Header["Accept-Encoding"] = saved
			}
			return next.HandleFinalize(ctx, in)
		})
	if err := stack.Finalize.Insert(strip, "Signing", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(restore, "Signing", middleware.After)
}

func (b *s3Bucket) String() string { return b.loc.String() }
func (b *s3Bucket) Close() error   { return nil }

func (b *s3Bucket) objectKey(key string) string { return b.loc.key(key) }

func (b *s3Bucket) name(key string) string { return b.loc.name(key) }

// check makes sure the bucket exists and the credentials work, so that a
// typo fails at once instead of after an export's first page.
func (b *s3Bucket) check(ctx context.Context) error {
	_, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.loc.bucket})
	if err != nil && statusOf(err) == http.StatusForbidden {
		// A HEAD response has no body, so a 403 cannot say whether the key
		// is unknown or only lacks permission; a listing's error can.
		_, err = b.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: &b.loc.bucket, Prefix: aws.String(b.objectKey("")), MaxKeys: aws.Int32(1)})
	}
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return b.noBucket(err)
		}
		return b.fail("check", "", err)
	}
	return nil
}

func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.HTTPStatusCode()
	}
	return 0
}

// regionOf is the bucket's region as S3 reports it when a request went to
// the wrong one.
func regionOf(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func (b *s3Bucket) noBucket(err error) error {
	return &kindError{kind: ErrNoBucket, err: err,
		msg: fmt.Sprintf("%s bucket %q does not exist: create it or check the name", b.service, b.loc.bucket)}
}

// fail turns an SDK error into one that names the object and, where callers
// branch on it, carries an error kind. SDK errors hold no secrets: requests
// are signed, never carry the secret key.
func (b *s3Bucket) fail(op, key string, err error) error {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := statusOf(err)
	name := b.name(key)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The portable layer judges timeouts; a caller's cancel is final.
		return fmt.Errorf("%s %s: %w", op, name, err)
	case code == "NoSuchBucket":
		return b.noBucket(err)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
		code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity":
		return &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("%s bucket %q: credentials rejected (%s): %s", b.service, b.loc.bucket, code, b.credHint)}
	case code == "AccessDenied" || code == "AllAccessDisabled" || status == http.StatusForbidden:
		return &kindError{kind: ErrPermission, err: err,
			msg: fmt.Sprintf("%s %s: permission denied (%s): the credentials may not %s here", op, name, orStatus(code, status), op)}
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		return &kindError{kind: ErrNotFound, err: err, msg: name + ": not found"}
	case status == http.StatusMovedPermanently || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
		status == http.StatusBadRequest && regionOf(err) != "":
		hint := "set AWS_REGION or --region to the bucket's region"
		if r := regionOf(err); r != "" {
			hint = "set AWS_REGION=" + r + " or --region " + r
		}
		return fmt.Errorf("%s %s: the bucket is in another region: %s: %w", op, name, hint, err)
	case status == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %s: the object changed while it was being read: %w", op, name, err)
	}
	// Judge the SDK's error before rewording hides its types.
	transient := status == http.StatusTooManyRequests ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		err = fmt.Errorf("%s %s: cannot reach the %s endpoint: %w", op, name, b.service, send.Err)
	} else {
		err = fmt.Errorf("%s %s: %w", op, name, err)
	}
	if transient {
		return transientError{err}
	}
	return err
}

func orStatus(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprint(status)
}

func (b *s3Bucket) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	// The upload runs on a context that outlives ctx: when ctx ends, closing
	// the pipe makes the uploader abort its multipart upload, which needs a
	// live context. abortGrace bounds that clean-up.
	upCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &s3Writer{b: b, ctx: ctx, key: key, pw: pw, done: make(chan struct{}), cancel: cancel}
	w.stop = context.AfterFunc(ctx, func() {
		pr.CloseWithError(ctx.Err())
		time.AfterFunc(abortGrace, cancel)
	})
	go func() {
		defer close(w.done)
		in := &s3.PutObjectInput{
			Bucket: &b.loc.bucket,
			Key:    aws.String(b.objectKey(key)),
			Body:   pr,
		}
		b.applySSE(in)
		//lint:ignore SA1019 see s3Bucket.uploader
		_, err := b.uploader.Upload(upCtx, in)
		w.err = err
		// Unblock a Write waiting for the uploader to read.
		if err == nil {
			err = errUploadEnded
		}
		pr.CloseWithError(err)
	}()
	return w, nil
}

var (
	errUploadEnded = errors.New("upload already finished")
	errAborted     = errors.New("write aborted")
)

type s3Writer struct {
	b      *s3Bucket
	key    string
	pw     *io.PipeWriter
	done   chan struct{}
	err    error // the upload's result, set before done is closed
	cancel context.CancelFunc
	stop   func() bool
	ctx    context.Context
	ended  bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if err := writable(w.ended, w.ctx, w.b.name(w.key)); err != nil {
		return 0, err
	}
	n, err := w.pw.Write(p)
	if err != nil {
		return n, w.b.fail("write", w.key, err)
	}
	return n, nil
}

// finish ends the stream, with closeErr to abort it, and waits for the upload.
func (w *s3Writer) finish(closeErr error) error {
	w.ended = true
	w.pw.CloseWithError(closeErr)
	<-w.done
	w.stop()
	w.cancel()
	return w.err
}

func (w *s3Writer) Commit() error {
	if w.ended {
		return errWriterDone
	}
	if err := w.ctx.Err(); err != nil {
		_ = w.finish(err)
		return fmt.Errorf("write %s: %w", w.b.name(w.key), err)
	}
	if err := w.finish(nil); err != nil {
		if ctxErr := w.ctx.Err(); ctxErr != nil {
			return fmt.Errorf("write %s: %w", w.b.name(w.key), ctxErr)
		}
		return w.b.fail("write", w.key, err)
	}
	return nil
}

func (w *s3Writer) Abort() error {
	if w.ended {
		return nil
	}
	_ = w.finish(errAborted)
	return nil
}

func (b *s3Bucket) Open(ctx context.Context, key string) (Object, error) {
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.loc.bucket, Key: aws.String(b.objectKey(key))})
	if err != nil {
		return nil, b.fail("open", key, err)
	}
	return &s3Object{b: b, ctx: ctx, key: key, size: aws.ToInt64(head.ContentLength), etag: aws.ToString(head.ETag)}, nil
}

// s3Object reads with one ranged GET per ReadAt, pinned to the ETag seen at
// Open so that reads never mix two versions of an overwritten object.
type s3Object struct {
	b    *s3Bucket
	ctx  context.Context
	key  string
	size int64
	etag string
}

func (o *s3Object) Size() int64  { return o.size }
func (o *s3Object) Close() error { return nil }

func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	name := o.b.name(o.key)
	return readRange(p, off, o.size, name, func(off, end int64) (io.ReadCloser, error) {
		in := &s3.GetObjectInput{
			Bucket: &o.b.loc.bucket,
			Key:    aws.String(o.b.objectKey(o.key)),
			Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1)),
		}
		if o.etag != "" {
			in.IfMatch = &o.etag
		}
		out, err := o.b.client.GetObject(o.ctx, in)
		if err != nil {
			return nil, o.b.fail("read", o.key, err)
		}
		return out.Body, nil
	}, func(at int64, err error) error {
		return fmt.Errorf("read %s at %d: %w", name, at, err)
	})
}

func (b *s3Bucket) Stat(ctx context.Context, key string) (Attrs, error) {
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.loc.bucket, Key: aws.String(b.objectKey(key))})
	if err != nil {
		return Attrs{}, b.fail("stat", key, err)
	}
	return Attrs{Key: key, Size: aws.ToInt64(head.ContentLength), ModTime: aws.ToTime(head.LastModified)}, nil
}

func (b *s3Bucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	root := b.objectKey("")
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: &b.loc.bucket,
		Prefix: aws.String(root + prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return b.fail("list", prefix+"*", err)
		}
		for _, obj := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(obj.Key), root)
			if !ok {
				continue
			}
			if err := fn(Attrs{Key: key, Size: aws.ToInt64(obj.Size), ModTime: aws.ToTime(obj.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *s3Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.loc.bucket, Key: aws.String(b.objectKey(key))})
	if err != nil {
		err = b.fail("delete", key, err)
		// S3 answers 204 for a missing key; GCS answers 404.
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// Create is a PUT with If-None-Match: *, which S3 (since 2024-08), MinIO
// and GCS's XML API answer with 412 when the key exists.
func (b *s3Bucket) Create(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &b.loc.bucket,
		Key:           aws.String(b.objectKey(key)),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch:   aws.String("*"),
	})
	if err == nil {
		return nil
	}
	switch statusOf(err) {
	case http.StatusPreconditionFailed:
		return &kindError{kind: ErrExists, err: err, msg: b.name(key) + ": already exists"}
	case http.StatusConflict:
		// S3 answers 409 ConditionalRequestConflict while another
		// conditional write of the key is in flight: try again.
		return transientError{fmt.Errorf("create %s: %w", b.name(key), err)}
	}
	return b.fail("create", key, err)
}

// Move copies src to dst on the server, then deletes src. CopyObject takes
// objects up to 5 GiB, far above the lake's file size.
func (b *s3Bucket) Move(ctx context.Context, src, dst string) error {
	in := &s3.CopyObjectInput{
		Bucket:     &b.loc.bucket,
		Key:        aws.String(b.objectKey(dst)),
		CopySource: aws.String(copySource(b.loc.bucket, b.objectKey(src))),
	}
	// A copy is a new object: without the header it gets the bucket's
	// default encryption, not the one the run asked for.
	b.applyCopySSE(in)
	_, err := b.client.CopyObject(ctx, in)
	if err != nil {
		return b.fail("move", src, err)
	}
	return b.Delete(ctx, src)
}

// copySource is the x-amz-copy-source value: bucket/key, URL-encoded.
// Everything but unreserved characters and "/" is escaped, so that no
// store reads "+" as a space.
func copySource(bucketName, key string) string {
	var sb strings.Builder
	sb.WriteString(bucketName)
	sb.WriteByte('/')
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}
