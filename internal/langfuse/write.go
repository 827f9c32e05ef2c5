package langfuse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Writes share the retries of reads with one difference: a write that is not idempotent is
// resent only when it cannot have been processed (it was not completely sent, or the answer
// was 429). Otherwise its error wraps ErrOutcomeUnknown and the caller decides.

// Ingest sends a batch to POST /api/public/ingestion. Langfuse answers 207 with a result per
// event; events it refused are in the response's Errors, not in err. Not idempotent (the
// caller knows whether its events are upserts and may resend after ErrOutcomeUnknown).
func (c *Client) Ingest(ctx context.Context, batch []IngestionEvent) (*IngestionResponse, error) {
	o, err := newOp(http.MethodPost, "/api/public/ingestion", BucketIngestion).withJSON(struct {
		Batch []IngestionEvent `json:"batch"`
	}{batch})
	if err != nil {
		return nil, err
	}
	o.idempotent = false
	return getOne[IngestionResponse](ctx, c, o, fmt.Sprintf("ingest a batch of %d events", len(batch)))
}

// ExportOTLP sends an OTLP ExportTraceServiceRequest, already protobuf-encoded by the caller,
// to POST /api/public/otel/v1/traces, gzipped, with x-langfuse-ingestion-version: 4 so that
// Langfuse v4 writes the spans directly. Never resent once sent: Langfuse v4 does not
// deduplicate spans.
func (c *Client) ExportOTLP(ctx context.Context, protobuf []byte) (*OTLPResponse, error) {
	return c.exportOTLP(ctx, protobuf, "application/x-protobuf", "protobuf")
}

// ExportOTLPJSON sends an OTLP/JSON ExportTraceServiceRequest, gzipped.
// Langfuse keeps the string ids of JSON spans verbatim (protobuf ids become
// hex), which is how spans with ids that are not OTel hex keep them.
func (c *Client) ExportOTLPJSON(ctx context.Context, body []byte) (*OTLPResponse, error) {
	return c.exportOTLP(ctx, body, "application/json", "OTLP/JSON")
}

// exportOTLP gzips an encoded ExportTraceServiceRequest (unless
// Config.Compression says not to) and posts it with
// x-langfuse-ingestion-version: 4; format names the encoding in errors.
func (c *Client) exportOTLP(ctx context.Context, body []byte, contentType, format string) (*OTLPResponse, error) {
	payload := body
	if c.gzipOTLP {
		var gz bytes.Buffer
		gz.Grow(len(body) / 4)
		zw := otlpGzip.Get().(*gzip.Writer)
		defer otlpGzip.Put(zw)
		zw.Reset(&gz)
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("export spans: compressing: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("export spans: compressing: %w", err)
		}
		payload = gz.Bytes()
	}
	o := newOp(http.MethodPost, "/api/public/otel/v1/traces", BucketIngestion).withBytes(payload, contentType)
	if c.gzipOTLP {
		o.setHeader("Content-Encoding", "gzip")
	}
	o.setHeader("x-langfuse-ingestion-version", "4")
	// Langfuse answers {}; an OTLP server may answer in protobuf, which carries nothing this
	// client needs.
	o.bodyOptional = true
	return getOne[OTLPResponse](ctx, c, o, fmt.Sprintf("export spans (%d bytes of %s)", len(body), format))
}

// otlpGzip holds the compressors of ExportOTLP: their state is large and worth reusing.
// Compression is most of the client's work for spans. klauspost's gzip is several times
// faster than compress/gzip; of its levels, 3 is the one to use here: on a 4 MiB request
// of generated spans (English, Japanese, JSON) it compresses at about 1.8x the speed of the
// default level (6) for 7% more bytes (18.5% of the protobuf against 17.3%), where level 1
// is no faster than 3 and sends 18% more. otlpGzipLevel is that level.
var otlpGzip = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, otlpGzipLevel)
	return zw
}}

const otlpGzipLevel = 3

// CreateScoreConfig creates a score config; Langfuse assigns its id.
func (c *Client) CreateScoreConfig(ctx context.Context, req CreateScoreConfigRequest) (*ScoreConfig, error) {
	return write[ScoreConfig](ctx, c, http.MethodPost, "/api/public/score-configs", BucketPublicAPI, false, req,
		fmt.Sprintf("create score config %q", req.Name))
}

// UpdateScoreConfig changes a score config (e.g. archives it). Idempotent.
func (c *Client) UpdateScoreConfig(ctx context.Context, id string, req UpdateScoreConfigRequest) (*ScoreConfig, error) {
	if err := requireNames("update score config", "score config id", id); err != nil {
		return nil, err
	}
	return write[ScoreConfig](ctx, c, http.MethodPatch, escapePath("/api/public/score-configs", id), BucketPublicAPI, true, req,
		fmt.Sprintf("update score config %q", id))
}

// CreateModel creates a custom model definition; Langfuse assigns its id.
func (c *Client) CreateModel(ctx context.Context, req CreateModelRequest) (*Model, error) {
	return write[Model](ctx, c, http.MethodPost, "/api/public/models", BucketPublicAPI, false, req,
		fmt.Sprintf("create model %q", req.ModelName))
}

// CreatePrompt creates the next version of a prompt (version = latest + 1).
func (c *Client) CreatePrompt(ctx context.Context, req CreatePromptRequest) (*Prompt, error) {
	return write[Prompt](ctx, c, http.MethodPost, "/api/public/v2/prompts", BucketPrompts, false, req,
		fmt.Sprintf("create a version of prompt %q", req.Name))
}

// SetPromptLabels sets the labels of one prompt version (labels move off other versions).
// Idempotent.
func (c *Client) SetPromptLabels(ctx context.Context, name string, version int, labels []string) (*Prompt, error) {
	if err := requireNames("set prompt labels", "prompt name", name); err != nil {
		return nil, err
	}
	if labels == nil {
		labels = []string{}
	}
	body := struct {
		NewLabels []string `json:"newLabels"`
	}{labels}
	return write[Prompt](ctx, c, http.MethodPatch, escapePath("/api/public/v2/prompts", name, "versions", fmt.Sprint(version)),
		BucketPrompts, true, body, fmt.Sprintf("set labels of prompt %q version %d", name, version))
}

// CreateDataset creates or updates the dataset with req.Name. Idempotent.
func (c *Client) CreateDataset(ctx context.Context, req CreateDatasetRequest) (*Dataset, error) {
	return write[Dataset](ctx, c, http.MethodPost, "/api/public/v2/datasets", BucketDatasets, true, req,
		fmt.Sprintf("create dataset %q", req.Name))
}

// CreateDatasetItem creates a dataset item, or updates it when req.ID is set (then it is
// idempotent).
func (c *Client) CreateDatasetItem(ctx context.Context, req CreateDatasetItemRequest) (*DatasetItem, error) {
	what := fmt.Sprintf("create an item of dataset %q", req.DatasetName)
	if req.ID != nil {
		what = fmt.Sprintf("create item %q of dataset %q", *req.ID, req.DatasetName)
	}
	return write[DatasetItem](ctx, c, http.MethodPost, "/api/public/dataset-items", BucketDatasets, req.ID != nil, req, what)
}

// CreateDatasetRunItem links a dataset item to a trace in a run (created by name if new).
func (c *Client) CreateDatasetRunItem(ctx context.Context, req CreateDatasetRunItemRequest) (*DatasetRunItem, error) {
	return write[DatasetRunItem](ctx, c, http.MethodPost, "/api/public/dataset-run-items", BucketDatasets, false, req,
		fmt.Sprintf("create an item of run %q", req.RunName))
}

// CreateComment creates a comment and returns its id. The commented object must exist.
func (c *Client) CreateComment(ctx context.Context, req CreateCommentRequest) (string, error) {
	r, err := write[createCommentResponse](ctx, c, http.MethodPost, "/api/public/comments", BucketPublicAPI, false, req,
		fmt.Sprintf("create a comment on %s %q", req.ObjectType, req.ObjectID))
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// CreateAnnotationQueue creates an annotation queue; Langfuse assigns its id.
func (c *Client) CreateAnnotationQueue(ctx context.Context, req CreateAnnotationQueueRequest) (*AnnotationQueue, error) {
	return write[AnnotationQueue](ctx, c, http.MethodPost, "/api/public/annotation-queues", BucketAnnotationQueues, false, req,
		fmt.Sprintf("create annotation queue %q", req.Name))
}

// CreateAnnotationQueueItem adds an object to an annotation queue.
func (c *Client) CreateAnnotationQueueItem(ctx context.Context, queueID string, req CreateAnnotationQueueItemRequest) (*AnnotationQueueItem, error) {
	if err := requireNames("create annotation queue item", "queue id", queueID); err != nil {
		return nil, err
	}
	return write[AnnotationQueueItem](ctx, c, http.MethodPost, escapePath("/api/public/annotation-queues", queueID, "items"),
		BucketAnnotationQueues, false, req, fmt.Sprintf("add %s %q to annotation queue %q", req.ObjectType, req.ObjectID, queueID))
}

// CreateMediaUpload registers media and returns where to upload it (POST /api/public/media).
// Idempotent: the media id is derived from the bytes.
func (c *Client) CreateMediaUpload(ctx context.Context, req MediaUploadRequest) (*MediaUploadResponse, error) {
	return write[MediaUploadResponse](ctx, c, http.MethodPost, "/api/public/media", BucketMediaUpload, true, req,
		fmt.Sprintf("register %d bytes of %s media", req.ContentLength, req.ContentType))
}

// UploadMedia PUTs media bytes to the presigned uploadURL of CreateMediaUpload. open is called
// once per attempt so that large media are streamed, not held in memory. The Langfuse keys are
// never sent to the storage; the URL's query (its signature) never appears in errors or logs.
func (c *Client) UploadMedia(ctx context.Context, uploadURL, contentType, sha256Base64 string, size int64, open func() (io.ReadCloser, error)) error {
	o := &op{
		method: http.MethodPut, path: uploadURL, bucket: BucketMediaUpload,
		body: open, size: size, idempotent: true, external: true, retries: -1,
		// One attempt may take as long as the bytes need at a slow 256 KiB/s.
		timeout: c.timeout + time.Duration(size/(256<<10))*time.Second,
	}
	o.setHeader("Content-Type", contentType)
	if needsBlobType(uploadURL) {
		o.setHeader("x-amz-checksum-sha256", sha256Base64)
		// Azure SAS URLs refuse a PUT without the blob type; S3 ignores it.
		o.setHeader("x-ms-blob-type", "BlockBlob")
	}
	if size == 0 {
		o.body = nil
	}
	if err := c.call(ctx, o, nil); err != nil {
		return fmt.Errorf("upload %d bytes of media: %w", size, err)
	}
	return nil
}

// needsBlobType decides as langfuse-python's media_manager.py does: every
// upload gets x-ms-blob-type (and the S3 checksum header) except to Google
// Cloud Storage, whose signed URLs refuse headers they were not signed with.
// An Azure URL cannot be told by its host (Langfuse may rewrite it to an
// external endpoint), so the header is not tied to *.blob.core.windows.net.
func needsBlobType(uploadURL string) bool {
	return !strings.Contains(uploadURL, "storage.googleapis.com")
}

// PatchMedia records the result of an upload (PATCH /api/public/media/{id}). Idempotent.
func (c *Client) PatchMedia(ctx context.Context, mediaID string, req PatchMediaRequest) error {
	if err := requireNames("patch media", "media id", mediaID); err != nil {
		return err
	}
	o, err := newOp(http.MethodPatch, escapePath("/api/public/media", mediaID), BucketMediaUpload).withJSON(req)
	if err != nil {
		return err
	}
	o.idempotent = true
	if err := c.call(ctx, o, nil); err != nil {
		return fmt.Errorf("record the upload of media %q: %w", mediaID, err)
	}
	return nil
}

// write sends body as JSON and decodes the answer into a T.
func write[T any](ctx context.Context, c *Client, method, path string, bucket Bucket, idempotent bool, body any, what string) (*T, error) {
	o, err := newOp(method, path, bucket).withJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	o.idempotent = idempotent
	return getOne[T](ctx, c, o, what)
}
