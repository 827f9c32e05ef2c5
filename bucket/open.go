package bucket

import (
	"context"
	"log/slog"
	"net/http"
)

// Options tune Open. The zero value suits AWS and local directories.
type Options struct {
	// S3Endpoint replaces the S3 endpoint, for example http://127.0.0.1:9000
	// for MinIO. For gs:// locations it replaces https://storage.googleapis.com.
	// Without it the SDK's own settings apply (AWS_ENDPOINT_URL_S3, profile).
	S3Endpoint string
	// S3PathStyle addresses buckets as endpoint/bucket instead of
	// bucket.endpoint, as most S3-compatible stores need. Always on for gs://.
	S3PathStyle bool
	// Region overrides the region from the environment or profile. Default:
	// that region, else us-east-1 (s3://) or "auto" (gs://).
	Region string
	// Logger receives retries and skipped objects. Nil discards them.
	Logger *slog.Logger
	// HTTPClient replaces the S3 SDK's client.
	HTTPClient *http.Client
	// Retry tunes retrying of transient errors; the zero value is the default.
	Retry RetryPolicy
	// SSE encrypts every object written to an s3:// location at rest:
	// SSES3 ("AES256") or SSEKMS ("aws:kms", with SSEKMSKeyID or the
	// store's default key). Empty: the bucket's default encryption. Other
	// schemes refuse it (see checkSSE).
	SSE         string
	SSEKMSKeyID string
	// GCSHMAC sends gs:// through GCS's S3-compatible XML API with an HMAC
	// key (the S3 driver) instead of the JSON API with Application Default
	// Credentials. Also chosen when GCS_HMAC_ACCESS_KEY_ID or
	// GCS_HMAC_SECRET_ACCESS_KEY is set, or S3Endpoint is.
	GCSHMAC bool
	// GCSEndpoint replaces https://storage.googleapis.com for gs:// on the
	// JSON API (for example a Private Service Connect endpoint). An emulator
	// is better named by STORAGE_EMULATOR_HOST, which also turns signing in
	// off.
	GCSEndpoint string
	// AzureEndpoint replaces the blob service URL of an az:// location,
	// https://ACCOUNT.blob.core.windows.net: for Azurite
	// http://127.0.0.1:10000/ACCOUNT. It wins over a connection string's
	// BlobEndpoint.
	AzureEndpoint string
}

// Open returns the bucket at location: a directory path, file:///abs/path,
// s3://bucket/prefix, gs://bucket/prefix or mem://name (see the package
// documentation). For s3:// and gs:// it checks at once that the bucket exists
// and the credentials are accepted.
func Open(ctx context.Context, location string, opts Options) (Bucket, error) {
	l, err := parseLocation(location)
	if err != nil {
		return nil, err
	}
	if err := checkSSE(l.scheme, opts); err != nil {
		return nil, err
	}
	if l.scheme == "gs" && !useGCSHMAC(opts) {
		return openGCS(ctx, l, opts)
	}
	switch l.scheme {
	case "mem":
		return portable(newMemory(l.String()), opts), nil
	case "az":
		// Like s3:// below: the container and the credentials are checked
		// at once.
		d, err := newAzure(l, opts)
		if err != nil {
			return nil, err
		}
		return openChecked(ctx, d, d.check, opts)
	case "s3", "gs":
		d, err := newS3(ctx, l, opts)
		if err != nil {
			return nil, err
		}
		return openChecked(ctx, d, d.check, opts)
	default:
		d, err := newLocal(l.path)
		if err != nil {
			return nil, err
		}
		return portable(d, opts), nil
	}
}

// openChecked wraps a cloud store's driver d like any other and runs check
// (the bucket exists, the credentials are accepted) through the retrier, so
// that a typo fails at once instead of after an export's first page. On
// failure it closes d.
func openChecked(ctx context.Context, d Bucket, check func(context.Context) error, opts Options) (Bucket, error) {
	b := portable(d, opts)
	// A few tries only: a wrong endpoint should fail in seconds, not
	// after the patience that a long export deserves.
	r := *b.b
	r.p.MaxAttempts = min(r.p.attempts(), 3)
	if err := r.do(ctx, "check", "", func() error { return check(ctx) }); err != nil {
		_ = d.Close()
		return nil, err
	}
	return b, nil
}
