package bucket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/bucket/buckettest"
	"github.com/lakefuse/lakefuse/internal/miniotest"
)

var fast = bucket.RetryPolicy{Backoff: func(int) time.Duration { return 0 }}

func open(t *testing.T, loc string, opts bucket.Options) bucket.Bucket {
	t.Helper()
	b, err := bucket.Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", loc, err)
	}
	return b
}

// TestS3 runs the suite against MinIO with the endpoint and keys from the
// standard AWS variables, below a prefix.
func TestS3(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	name := srv.NewBucket(t, "suite")
	var n atomic.Int64
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		b := open(t, fmt.Sprintf("s3://%s/lake/run-%d", name, n.Add(1)), bucket.Options{Retry: fast})
		if want := fmt.Sprintf("s3://%s/lake/run-%d", name, n.Load()); b.String() != want {
			t.Errorf("String() = %q, want %q", b.String(), want)
		}
		return b
	})
}

// TestGCSThroughMinIO runs the gs:// code path (HMAC variables, region
// "auto", path-style, unsigned Accept-Encoding) against MinIO, one bucket per
// test and no prefix.
func TestGCSThroughMinIO(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	// Only the GCS variables hold valid keys: the AWS ones must not be used.
	t.Setenv("AWS_ACCESS_KEY_ID", "wrong")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	t.Setenv("GCS_HMAC_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("GCS_HMAC_SECRET_ACCESS_KEY", srv.SecretKey())
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		return open(t, "gs://"+srv.NewBucket(t, "gcs"), bucket.Options{S3Endpoint: srv.Endpoint(), Retry: fast})
	})
}

func TestS3Options(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	// Everything from Options, nothing from the endpoint variable.
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	name := srv.NewBucket(t, "options")
	b := open(t, "s3://"+name, bucket.Options{S3Endpoint: srv.Endpoint(), S3PathStyle: true, Region: "eu-west-3"})
	buckettest.Put(t, b, "k", []byte("v"))
	if got := buckettest.Get(t, b, "k"); string(got) != "v" {
		t.Errorf("read %q", got)
	}
}

func multipartUploads(t *testing.T, srv *miniotest.Server, name string) []string {
	t.Helper()
	out, err := srv.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &name})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

func TestS3AbortLeavesNoUpload(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	name := srv.NewBucket(t, "abort")
	b := open(t, "s3://"+name+"/p", bucket.Options{})
	w, err := b.NewWriter(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	// Three parts: the upload has surely started.
	if _, err := w.Write(bytes.Repeat([]byte("x"), 3*8<<20)); err != nil {
		t.Fatal(err)
	}
	if got := multipartUploads(t, srv, name); len(got) != 1 {
		t.Fatalf("multipart uploads while writing: %q, want one", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := multipartUploads(t, srv, name); len(got) != 0 {
		t.Errorf("Abort left multipart uploads: %q", got)
	}
	if keys := buckettest.Keys(t, b, ""); len(keys) != 0 {
		t.Errorf("Abort left objects: %q", keys)
	}
}

func TestS3CancelLeavesNoUpload(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	name := srv.NewBucket(t, "cancel")
	b := open(t, "s3://"+name, bucket.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 3*8<<20)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := w.Write([]byte("more")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel = %v, want context.Canceled", err)
	}
	if err := w.Commit(); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit after cancel = %v, want context.Canceled", err)
	}
	if got := multipartUploads(t, srv, name); len(got) != 0 {
		t.Errorf("a cancelled write left multipart uploads: %q", got)
	}
	if keys := buckettest.Keys(t, b, ""); len(keys) != 0 {
		t.Errorf("a cancelled write left objects: %q", keys)
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	for _, scheme := range []string{"s3", "gs"} {
		t.Setenv("GCS_HMAC_ACCESS_KEY_ID", srv.AccessKey())
		t.Setenv("GCS_HMAC_SECRET_ACCESS_KEY", srv.SecretKey())
		_, err := bucket.Open(context.Background(), scheme+"://no-such-bucket-here/x", bucket.Options{S3Endpoint: srv.Endpoint(), Retry: fast})
		if !errors.Is(err, bucket.ErrNoBucket) {
			t.Fatalf("%s: Open = %v, want ErrNoBucket", scheme, err)
		}
		if !strings.Contains(err.Error(), `bucket "no-such-bucket-here" does not exist`) {
			t.Errorf("%s: the message should name the bucket: %v", scheme, err)
		}
	}
}

func TestS3WrongSecret(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	name := srv.NewBucket(t, "secret")
	const secret = "not-the-secret-0123456789abcdefgh"
	for _, tc := range []struct{ id, secret string }{
		{srv.AccessKey(), secret},  // SignatureDoesNotMatch
		{"unknown-key-id", secret}, // InvalidAccessKeyId
	} {
		t.Setenv("AWS_ACCESS_KEY_ID", tc.id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
		_, err := bucket.Open(context.Background(), "s3://"+name, bucket.Options{Retry: fast})
		if !errors.Is(err, bucket.ErrBadCredentials) {
			t.Fatalf("key %s: Open = %v, want ErrBadCredentials", tc.id, err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
		if !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
			t.Errorf("the error should say what to check: %v", err)
		}
	}
}

func TestS3NoCredentials(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	_, err := bucket.Open(context.Background(), "s3://some-bucket", bucket.Options{})
	if !errors.Is(err, bucket.ErrBadCredentials) || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("Open without credentials = %v, want ErrBadCredentials with a hint", err)
	}
	t.Setenv("GCS_HMAC_ACCESS_KEY_ID", "only-the-id")
	_, err = bucket.Open(context.Background(), "gs://some-bucket", bucket.Options{})
	if !errors.Is(err, bucket.ErrBadCredentials) || !strings.Contains(err.Error(), "GCS_HMAC_SECRET_ACCESS_KEY") {
		t.Errorf("Open with half the HMAC key = %v, want ErrBadCredentials naming the missing one", err)
	}
}

func TestS3ReadOnlyKey(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	name := srv.NewBucket(t, "readonly")
	admin := open(t, "s3://"+name, bucket.Options{})
	buckettest.Put(t, admin, "existing", []byte("data"))

	id, secret, token := srv.SessionCredentials(t, fmt.Sprintf(`{
		"Version": "2012-10-17",
		"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
			"Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"]}]}`, name))
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	b := open(t, "s3://"+name, bucket.Options{Retry: fast})
	if got := buckettest.Get(t, b, "existing"); string(got) != "data" {
		t.Errorf("read %q", got)
	}
	w, err := b.NewWriter(context.Background(), "new")
	if err == nil {
		_, err = w.Write([]byte("x"))
		if err == nil {
			err = w.Commit()
		}
	}
	if !errors.Is(err, bucket.ErrPermission) || !strings.Contains(err.Error(), name+"/new") {
		t.Errorf("writing with a read-only key = %v, want ErrPermission naming the object", err)
	}
	if err := b.Delete(context.Background(), "existing"); !errors.Is(err, bucket.ErrPermission) {
		t.Errorf("deleting with a read-only key = %v, want ErrPermission", err)
	}
	if got := buckettest.Keys(t, admin, ""); len(got) != 1 {
		t.Errorf("after the refused writes the bucket holds %q", got)
	}
}

// TestS3ObjectReplacedWhileOpen makes sure ranged reads never mix two
// versions of an object.
func TestS3ObjectReplacedWhileOpen(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	b := open(t, "s3://"+srv.NewBucket(t, "replaced"), bucket.Options{Retry: fast})
	buckettest.Put(t, b, "f", []byte("version one"))
	o, err := b.Open(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	buckettest.Put(t, b, "f", []byte("version two"))
	p := make([]byte, 3)
	if _, err := o.ReadAt(p, 8); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("ReadAt of a replaced object = %q, %v; want an error saying it changed", p, err)
	}
}

// TestS3WriteMemoryFlat streams an object much larger than the part buffers
// and checks that the heap stays near (concurrency+1) parts.
func TestS3WriteMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	srv := miniotest.Shared(t)
	srv.Env(t)
	b := open(t, "s3://"+srv.NewBucket(t, "memory"), bucket.Options{})
	runtime.GC()
	var peak atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	w, err := b.NewWriter(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	const size = 256 << 20
	for range size / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-stopped
	t.Logf("peak heap in use while streaming %d MiB: %d MiB", size>>20, peak.Load()>>20)
	if peak.Load() > 96<<20 {
		t.Errorf("peak heap %d MiB: the writer does not stream", peak.Load()>>20)
	}
	if a, err := b.Stat(context.Background(), "big"); err != nil || a.Size != size {
		t.Errorf("Stat = %+v, %v", a, err)
	}
}
