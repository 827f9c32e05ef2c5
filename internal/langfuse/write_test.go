package langfuse

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var configBody = map[string]any{"id": "new", "name": "q", "projectId": "p", "dataType": "NUMERIC", "isArchived": false,
	"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}

// writeServer answers the first request with fail (after reading the body) and the others
// with ok.
func writeServer(fail http.HandlerFunc, ok any) (http.Handler, *atomic.Int32) {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1) == 1 && fail != nil {
			fail(w, r)
			return
		}
		writeJSON(w, 200, ok)
	}), &n
}

func TestWritesAreNotResentOnceSent(t *testing.T) {
	tests := []struct {
		name     string
		fail     http.HandlerFunc
		requests int32
		unknown  bool
		kind     error
	}{
		{"502 after sending", status(502), 1, true, ErrServer},
		{"500 after sending", status(500), 1, true, ErrServer},
		{"connection reset after sending", hangUp, 1, true, nil},
		{"body cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			_, _ = io.WriteString(w, `{"id":"new","na`)
		}, 1, true, nil},
		{"429 is resent", status(429, "Retry-After", "2"), 2, false, nil},
		{"400 is final", status(400), 1, false, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := writeServer(tt.fail, configBody)
			env := newTestClient(t, h)
			got, err := env.c.CreateScoreConfig(context.Background(), CreateScoreConfigRequest{Name: "q", DataType: "NUMERIC"})
			if n.Load() != tt.requests {
				t.Errorf("%d requests, want %d", n.Load(), tt.requests)
			}
			if errors.Is(err, ErrOutcomeUnknown) != tt.unknown {
				t.Errorf("err = %v; outcome unknown should be %v", err, tt.unknown)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want %v", err, tt.kind)
			}
			if tt.requests == 2 && (err != nil || got.ID != "new") {
				t.Errorf("after the retry: %+v, %v", got, err)
			}
			if err != nil && !strings.Contains(err.Error(), `create score config "q"`) {
				t.Errorf("error does not name the write: %v", err)
			}
		})
	}
}

func TestWriteResentWhenNeverSent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	env := newTestClientURL(t, nil, base, func(c *Config) { c.MaxRetries = 2 })
	_, err := env.c.CreateModel(context.Background(), CreateModelRequest{ModelName: "m", MatchPattern: "(?i)^m$"})
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v; want unreachable and not outcome unknown", err)
	}
	if _, n := env.clock.slept(); n != 2 {
		t.Errorf("%d retries, want 2", n)
	}
}

func TestIdempotentWritesAreRetried(t *testing.T) {
	item := map[string]any{"id": "item-1", "status": "ACTIVE", "datasetId": "d", "datasetName": "set",
		"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
	id := "item-1"
	h, n := writeServer(status(502), item)
	env := newTestClient(t, h)
	if _, err := env.c.CreateDatasetItem(context.Background(), CreateDatasetItemRequest{DatasetName: "set", ID: &id}); err != nil || n.Load() != 2 {
		t.Errorf("item with id: %v after %d requests", err, n.Load())
	}
	h, n = writeServer(status(502), item)
	env = newTestClient(t, h)
	if _, err := env.c.CreateDatasetItem(context.Background(), CreateDatasetItemRequest{DatasetName: "set"}); !errors.Is(err, ErrOutcomeUnknown) || n.Load() != 1 {
		t.Errorf("item without id: %v after %d requests", err, n.Load())
	}
	h, n = writeServer(status(503), map[string]any{"id": "d", "name": "set", "projectId": "p"})
	env = newTestClient(t, h)
	if _, err := env.c.CreateDataset(context.Background(), CreateDatasetRequest{Name: "set"}); err != nil || n.Load() != 2 {
		t.Errorf("dataset upsert: %v after %d requests", err, n.Load())
	}
}

func TestExportOTLP(t *testing.T) {
	payload := bytes.Repeat([]byte("\x0a\x10protobuf-bytes"), 200)
	var n atomic.Int32
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/api/public/otel/v1/traces" || r.Method != http.MethodPost {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		for k, want := range map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip",
			"X-Langfuse-Ingestion-Version": "4"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(zr)
		if !bytes.Equal(got, payload) {
			t.Errorf("body differs after gunzip: %d bytes", len(got))
		}
		switch n.Load() {
		case 1:
			writeJSON(w, 200, map[string]any{})
		case 2:
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write([]byte{0x0a, 0x00})
		case 3:
			writeJSON(w, 200, map[string]any{"partialSuccess": map[string]any{"rejectedSpans": "3", "errorMessage": "bad ids"}})
		default:
			status(503)(w, r)
		}
	}), func(c *Config) { c.Compression = CompressGzip }) // the test server is on this machine: auto would not gzip
	for range 2 {
		if _, err := env.c.ExportOTLP(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
	}
	r, err := env.c.ExportOTLP(context.Background(), payload)
	if err != nil || r.PartialSuccess == nil || r.PartialSuccess.RejectedSpans != 3 || r.PartialSuccess.ErrorMessage != "bad ids" {
		t.Errorf("partial success: %+v, %v", r, err)
	}
	_, err = env.c.ExportOTLP(context.Background(), payload)
	if !errors.Is(err, ErrOutcomeUnknown) || n.Load() != 4 {
		t.Errorf("503: %v after %d requests (spans are never resent)", err, n.Load())
	}
}

func TestIngest(t *testing.T) {
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Batch []map[string]json.RawMessage `json:"batch"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Batch) != 2 || string(body.Batch[0]["type"]) != `"score-create"` {
			t.Errorf("batch %v %v", body, err)
		}
		writeJSON(w, 207, map[string]any{"successes": []any{map[string]any{"id": "e1", "status": 201}},
			"errors": []any{map[string]any{"id": "e2", "status": 400, "message": "Invalid request data", "error": []any{"x"}}}})
	}))
	body, _ := json.Marshal(ScoreBody{Name: "q", Value: json.RawMessage("1")})
	ev := []IngestionEvent{
		{ID: "e1", Type: "score-create", Timestamp: time.Now(), Body: body},
		{ID: "e2", Type: "score-create", Timestamp: time.Now(), Body: body},
	}
	resp, err := env.c.Ingest(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Successes) != 1 || resp.Errors[0].ID != "e2" || *resp.Errors[0].Message != "Invalid request data" || string(resp.Errors[0].Error) != `["x"]` {
		t.Errorf("response %+v", resp)
	}
}

func TestMediaUpload(t *testing.T) {
	data := []byte("PNG bytes")
	const sig = "X-Amz-Signature=deadbeefSIGNATURE"
	var opens, puts atomic.Int32
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Error("the Langfuse keys were sent to the storage")
		}
		if r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Amz-Checksum-Sha256") != "c2hh" || r.ContentLength != int64(len(data)) {
			t.Errorf("headers %v, length %d", r.Header, r.ContentLength)
		}
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, data) {
			t.Errorf("body %q", got)
		}
		switch {
		case strings.Contains(r.URL.RawQuery, "deny"):
			w.WriteHeader(403)
			_, _ = io.WriteString(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>")
		case puts.Load() == 1:
			w.WriteHeader(503)
		}
	}))
	defer storage.Close()
	open := func() (io.ReadCloser, error) {
		opens.Add(1)
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	var patched map[string]any
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/public/media":
			u := storage.URL + "/bucket/media?" + sig
			writeJSON(w, 200, map[string]any{"uploadUrl": u, "mediaId": "m1"})
		case r.Method == http.MethodPatch && r.URL.Path == "/api/public/media/m1":
			_ = json.NewDecoder(r.Body).Decode(&patched)
			w.WriteHeader(204)
		default:
			http.NotFound(w, r)
		}
	}))
	ctx := context.Background()
	trace := "t1"
	up, err := env.c.CreateMediaUpload(ctx, MediaUploadRequest{TraceID: &trace, ContentType: "image/png", ContentLength: int64(len(data)), SHA256Hash: "c2hh", Field: "input"})
	if err != nil || up.MediaID != "m1" {
		t.Fatalf("%+v %v", up, err)
	}
	if err := env.c.UploadMedia(ctx, *up.UploadURL, "image/png", "c2hh", int64(len(data)), open); err != nil {
		t.Fatal(err)
	}
	if opens.Load() != 2 || puts.Load() != 2 {
		t.Errorf("%d opens, %d puts; want 2 and 2 (one retry)", opens.Load(), puts.Load())
	}
	err = env.c.UploadMedia(ctx, storage.URL+"/bucket/media?deny=1&"+sig, "image/png", "c2hh", int64(len(data)), open)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 || !strings.Contains(apiErr.Message, "SignatureDoesNotMatch") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SIGNATURE") || strings.Contains(env.logs.String(), "SIGNATURE") {
		t.Errorf("the presigned signature leaked: %v\n%s", err, env.logs)
	}
	missing := errors.New("no such media file")
	err = env.c.UploadMedia(ctx, *up.UploadURL, "image/png", "c2hh", 9, func() (io.ReadCloser, error) { return nil, missing })
	if !errors.Is(err, missing) || !strings.Contains(err.Error(), "opening the request body") {
		t.Errorf("unreadable media: %v", err)
	}
	status, ms := 200, int64(12)
	if err := env.c.PatchMedia(ctx, "m1", PatchMediaRequest{UploadedAt: time.Now(), UploadHTTPStatus: status, UploadTimeMs: &ms}); err != nil {
		t.Fatal(err)
	}
	if patched["uploadHttpStatus"] != float64(200) || patched["uploadTimeMs"] != float64(12) {
		t.Errorf("patch body %v", patched)
	}
}

func TestSmallWrites(t *testing.T) {
	var got []string
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.EscapedPath()+" "+string(b))
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/public/comments"):
			writeJSON(w, 200, map[string]any{"id": "c1"})
		default:
			writeJSON(w, 200, map[string]any{"id": "x", "name": "n"})
		}
	}))
	ctx := context.Background()
	archived := true
	if _, err := env.c.SetPromptLabels(ctx, "folder/my prompt", 4, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.UpdateScoreConfig(ctx, "cfg 1", UpdateScoreConfigRequest{IsArchived: &archived}); err != nil {
		t.Fatal(err)
	}
	if id, err := env.c.CreateComment(ctx, CreateCommentRequest{ProjectID: "p", ObjectType: "TRACE", ObjectID: "t", Content: "hi"}); err != nil || id != "c1" {
		t.Fatalf("comment %q %v", id, err)
	}
	if _, err := env.c.CreateAnnotationQueueItem(ctx, "q1", CreateAnnotationQueueItemRequest{ObjectID: "t", ObjectType: "TRACE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.CreatePrompt(ctx, CreatePromptRequest{Name: "a", Type: "text", Prompt: json.RawMessage(`"hi"`)}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`PATCH /api/public/v2/prompts/folder%2Fmy%20prompt/versions/4 {"newLabels":[]}`,
		`PATCH /api/public/score-configs/cfg%201 {"isArchived":true}`,
		`POST /api/public/comments {"projectId":"p","objectType":"TRACE","objectId":"t","content":"hi"}`,
		`POST /api/public/annotation-queues/q1/items {"objectId":"t","objectType":"TRACE"}`,
		`POST /api/public/v2/prompts {"name":"a","type":"text","prompt":"hi"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOTLPCompression: OTLP requests are gzipped unless the destination is
// this machine (auto) or compression is off; forced gzip compresses even to
// this machine.
func TestOTLPCompression(t *testing.T) {
	for _, c := range []struct {
		compression, url string
		gzip             bool
	}{
		{"", "https://cloud.langfuse.com", true},
		{CompressAuto, "http://langfuse.internal:3000/langfuse", true},
		{CompressAuto, "http://10.0.0.7:3000", true},
		{"", "http://localhost:3000", false},
		{CompressAuto, "http://LOCALHOST:3000", false},
		{CompressAuto, "http://app.localhost", false},
		{CompressAuto, "http://127.0.0.1:3000", false},
		{CompressAuto, "http://127.8.9.10", false},
		{CompressAuto, "http://[::1]:3000", false},
		{CompressGzip, "http://127.0.0.1:3000", true},
		{CompressNone, "https://cloud.langfuse.com", false},
	} {
		if got := gzipOTLP(c.compression, c.url); got != c.gzip {
			t.Errorf("compression %q to %s: gzip %v, want %v", c.compression, c.url, got, c.gzip)
		}
	}
	if err := (Config{BaseURL: "https://cloud.langfuse.com", PublicKey: testPublic, SecretKey: testSecret, Compression: "zstd"}).Validate(); err == nil || !strings.Contains(err.Error(), `compression "zstd"`) {
		t.Errorf("compression zstd: %v", err)
	}
	payload := bytes.Repeat([]byte("\x0a\x10protobuf-bytes"), 200)
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if enc := r.Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("Content-Encoding %q to this machine", enc)
		}
		if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, payload) {
			t.Errorf("body of %d bytes, want the %d of the request", len(got), len(payload))
		}
		writeJSON(w, 200, map[string]any{})
	}))
	if _, err := env.c.ExportOTLP(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
}
