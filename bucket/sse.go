package bucket

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Server-side encryption modes of Options.SSE.
const (
	// SSES3 is S3-managed keys (SSE-S3; on MinIO, its KMS's default key).
	SSES3 = "AES256"
	// SSEKMS is a KMS key (SSE-KMS), named by Options.SSEKMSKeyID or else
	// the store's default KMS key.
	SSEKMS = "aws:kms"
)

// checkSSE reports whether the encryption options suit the location's
// scheme: only s3:// writes carry encryption headers. GCS encrypts every
// object with the bucket's default key (Google-managed or CMEK) and its XML
// API takes no x-amz-server-side-encryption; a local lake is private by its
// file modes instead.
func checkSSE(scheme string, opts Options) error {
	switch opts.SSE {
	case "":
		if opts.SSEKMSKeyID != "" {
			return fmt.Errorf("%w: --sse-kms-key-id needs --sse aws:kms", ErrBadLocation)
		}
		return nil
	case SSES3:
		if opts.SSEKMSKeyID != "" {
			return fmt.Errorf("%w: --sse-kms-key-id needs --sse aws:kms, not %s", ErrBadLocation, SSES3)
		}
	case SSEKMS:
	default:
		return fmt.Errorf("%w: --sse %q: use %s or %s", ErrBadLocation, opts.SSE, SSES3, SSEKMS)
	}
	switch scheme {
	case "s3":
		return nil
	case "az":
		return fmt.Errorf("%w: --sse applies to s3:// locations: Azure Storage encrypts every blob at rest with the account's key (Microsoft-managed, or a customer-managed key set on the account)", ErrBadLocation)
	case "gs":
		return fmt.Errorf("%w: --sse applies to s3:// locations: GCS encrypts every object with the bucket's default key (set a CMEK on the bucket instead)", ErrBadLocation)
	default:
		return fmt.Errorf("%w: --sse applies to s3:// locations: a local lake is private by its modes (directories 0700, files 0600)", ErrBadLocation)
	}
}

// applySSE sets the encryption headers of an upload (the multipart
// uploader carries them to CreateMultipartUpload).
func (b *s3Bucket) applySSE(in *s3.PutObjectInput) {
	if b.sse == "" {
		return
	}
	in.ServerSideEncryption = types.ServerSideEncryption(b.sse)
	if b.sseKey != "" {
		in.SSEKMSKeyId = aws.String(b.sseKey)
	}
}

// applyCopySSE is applySSE for a server-side copy (Move), which makes a new
// object: without it the copy gets the bucket's default encryption.
func (b *s3Bucket) applyCopySSE(in *s3.CopyObjectInput) {
	if b.sse == "" {
		return
	}
	in.ServerSideEncryption = types.ServerSideEncryption(b.sse)
	if b.sseKey != "" {
		in.SSEKMSKeyId = aws.String(b.sseKey)
	}
}
