package bucket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/bucket/buckettest"
	"github.com/lakefuse/lakefuse/internal/miniotest"
)

// TestS3SSE writes small (one PUT) and large (multipart) objects with each
// encryption mode and asks MinIO, around the code under test, how it
// stored them.
func TestS3SSE(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.Env(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 9<<20/16) // > one 8 MiB part
	for _, tc := range []struct {
		name  string
		opts  bucket.Options
		want  types.ServerSideEncryption
		keyID string
	}{
		{"none", bucket.Options{}, "", ""},
		{"sse-s3", bucket.Options{SSE: bucket.SSES3}, types.ServerSideEncryptionAes256, ""},
		{"sse-kms", bucket.Options{SSE: bucket.SSEKMS, SSEKMSKeyID: miniotest.KMSKeyID}, types.ServerSideEncryptionAwsKms, miniotest.KMSKeyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := srv.NewBucket(t, "sse-"+tc.name)
			tc.opts.Retry = fast
			b := open(t, "s3://"+name+"/lake", tc.opts)
			for key, data := range map[string][]byte{"small": []byte("secret prompt"), "big": big} {
				buckettest.Put(t, b, key, data)
				if got := buckettest.Get(t, b, key); !bytes.Equal(got, data) {
					t.Fatalf("%s: read back %d bytes, want %d", key, len(got), len(data))
				}
				head, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &name, Key: aws.String("lake/" + key)})
				if err != nil {
					t.Fatal(err)
				}
				if head.ServerSideEncryption != tc.want {
					t.Errorf("%s: stored with encryption %q, want %q", key, head.ServerSideEncryption, tc.want)
				}
				if tc.keyID != "" && !bytes.Contains([]byte(aws.ToString(head.SSEKMSKeyId)), []byte(tc.keyID)) {
					t.Errorf("%s: KMS key %q, want %q", key, aws.ToString(head.SSEKMSKeyId), tc.keyID)
				}
			}
		})
	}
	t.Run("unknown-kms-key", func(t *testing.T) {
		b := open(t, "s3://"+srv.NewBucket(t, "sse-badkey"), bucket.Options{SSE: bucket.SSEKMS, SSEKMSKeyID: "no-such-key", Retry: fast})
		w, err := b.NewWriter(context.Background(), "k")
		if err == nil {
			_, _ = w.Write([]byte("x"))
			err = w.Commit()
		}
		if err == nil {
			t.Fatal("a write with an unknown KMS key succeeded")
		}
	})
}

func TestSSEOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		loc  string
		opts bucket.Options
	}{
		{dir, bucket.Options{SSE: bucket.SSES3}},
		{"gs://some-bucket/x", bucket.Options{SSE: bucket.SSEKMS}},
		{"s3://some-bucket/x", bucket.Options{SSE: "aes"}},
		{"s3://some-bucket/x", bucket.Options{SSEKMSKeyID: "k"}},
		{"s3://some-bucket/x", bucket.Options{SSE: bucket.SSES3, SSEKMSKeyID: "k"}},
	} {
		t.Run(fmt.Sprintf("%s-%s-%s", tc.loc, tc.opts.SSE, tc.opts.SSEKMSKeyID), func(t *testing.T) {
			_, err := bucket.Open(context.Background(), tc.loc, tc.opts)
			if !errors.Is(err, bucket.ErrBadLocation) {
				t.Fatalf("Open: %v, want ErrBadLocation", err)
			}
		})
	}
}
