package lfexport

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

const mediaMarker = "@@@langfuseMedia:"

var mediaTag = regexp.MustCompile(`@@@langfuseMedia:type=([^|@]+)\|id=([^|@]+)\|source=([^|@]+)@@@`)

// mediaIDPattern is what a media id may look like before it becomes an
// object key: Langfuse's ids are 22 characters of URL-safe base64. Anything
// else (a slash, dots, a hostile "../") is refused, so no id can name an
// object outside _media/.
var mediaIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidMediaID reports whether id may be stored as _media/<id>.
func ValidMediaID(id string) bool { return mediaIDPattern.MatchString(id) }

// mediaRef is one media token found in a field.
type mediaRef struct {
	ID, ContentType, JSONPath string
}

// findMediaRefs returns the media tokens in a field's JSON text with the
// JSONPath of the string holding each, in a stable order. Paths follow
// Langfuse's dataset item mediaReferences: $.key, $["odd key"], $[0].
func findMediaRefs(text *string) []mediaRef {
	if text == nil || !strings.Contains(*text, mediaMarker) {
		return nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(*text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		v = *text
	}
	var out []mediaRef
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(x[k], path+jsonPathKey(k))
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case string:
			for _, m := range mediaTag.FindAllStringSubmatch(x, -1) {
				out = append(out, mediaRef{ID: m[2], ContentType: m[1], JSONPath: path})
			}
		}
	}
	walk(v, "$")
	return out
}

var identRe = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func jsonPathKey(k string) string {
	if identRe.MatchString(k) {
		return "." + k
	}
	b, _ := json.Marshal(k)
	return "[" + string(b) + "]"
}

// mediaInfo is what the lake knows about one media id.
type mediaInfo struct {
	ContentType string     `json:"content_type"`
	Length      *int64     `json:"length,omitempty"`
	UploadedAt  *time.Time `json:"uploaded_at,omitempty"`
	Path        *string    `json:"path,omitempty"`
	SHA256      *string    `json:"sha256,omitempty"`
}

// mediaStore resolves media ids once per run: GET /media/{id}, then the
// bytes from the signed URL into _media/<id>, unless an earlier run already
// stored them.
type mediaStore struct {
	c     *lf.Client
	b     bucket.Bucket
	run   *hive.Run
	http  *http.Client
	log   *slog.Logger
	skip  bool // --no-media
	stats *Stats

	mu    sync.Mutex
	known map[string]*mediaInfo
	// listed are the media objects a committed manifest or this run
	// already lists.
	listed map[string]bool
}

// resolve returns the media's info, downloading its bytes the first time.
func (m *mediaStore) resolve(ctx context.Context, ref mediaRef) (*mediaInfo, error) {
	m.mu.Lock()
	info, ok := m.known[ref.ID]
	m.mu.Unlock()
	if ok {
		return info, nil
	}
	info, err := m.fetch(ctx, ref)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.known[ref.ID] = info
	m.mu.Unlock()
	return info, nil
}

func (m *mediaStore) fetch(ctx context.Context, ref mediaRef) (*mediaInfo, error) {
	info := &mediaInfo{ContentType: ref.ContentType}
	if m.skip {
		return info, nil
	}
	if !ValidMediaID(ref.ID) {
		m.log.Warn("media reference with an id that cannot be stored; its bytes are not copied", "media_id", ref.ID)
		return info, nil
	}
	md, err := m.c.GetMedia(ctx, ref.ID)
	if errors.Is(err, lf.ErrNotFound) {
		m.log.Warn("media referenced but not found in Langfuse; its bytes are not copied", "media_id", ref.ID)
		return info, nil
	}
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", ref.ID, err)
	}
	info.ContentType = md.ContentType
	info.Length = ptr(md.ContentLength)
	info.UploadedAt = ptr(md.UploadedAt.UTC())
	key := hive.MediaDir + ref.ID
	if a, err := m.b.Stat(ctx, key); err == nil && a.Size == md.ContentLength {
		// An earlier run copied the bytes; media are content-addressed.
		sum, err := m.hashObject(ctx, key)
		if err != nil {
			return nil, err
		}
		info.Path, info.SHA256 = ptr(key), ptr(sum)
		m.mu.Lock()
		listed := m.listed[key]
		m.listed[key] = true
		m.mu.Unlock()
		if !listed {
			// Copied by a run that died before listing it.
			m.run.AddMedia(hive.MediaEntry{Path: key, Size: a.Size, SHA256: b64ToHex(sum)})
		}
		return info, nil
	}
	sum, n, err := m.download(ctx, md, key)
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", ref.ID, err)
	}
	info.Path, info.SHA256 = ptr(key), ptr(sum)
	m.mu.Lock()
	m.listed[key] = true
	m.mu.Unlock()
	m.run.AddMedia(hive.MediaEntry{Path: key, Size: n, SHA256: b64ToHex(sum)})
	if m.stats != nil {
		m.stats.addMedia(n)
	}
	return info, nil
}

func (m *mediaStore) hashObject(ctx context.Context, key string) (string, error) {
	obj, err := m.b.Open(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read %s/%s: %w", m.b, key, err)
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(obj, 0, obj.Size())); err != nil {
		return "", fmt.Errorf("read %s/%s: %w", m.b, key, err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// maxMediaAttempts bounds the tries of one download; the signed URL points
// at object storage, which fails transiently like any other server.
const maxMediaAttempts = 6

// download copies the bytes of md into key, checking the length and that
// the bytes hash to the media id (Langfuse derives the id from the SHA-256),
// so a cut or corrupted transfer is retried instead of stored.
func (m *mediaStore) download(ctx context.Context, md *lf.Media, key string) (string, int64, error) {
	var last error
	for attempt := 1; attempt <= maxMediaAttempts; attempt++ {
		if attempt > 1 {
			d := time.Duration(1<<min(attempt-2, 4)) * 200 * time.Millisecond
			select {
			case <-ctx.Done():
				return "", 0, ctx.Err()
			case <-time.After(d):
			}
		}
		sum, n, retry, err := m.downloadOnce(ctx, md, key)
		if err == nil {
			return sum, n, nil
		}
		last = err
		if !retry {
			break
		}
		m.log.Debug("media download failed; retrying", "media_id", md.MediaID, "attempt", attempt, "err", err)
	}
	return "", 0, last
}

func (m *mediaStore) downloadOnce(ctx context.Context, md *lf.Media, key string) (sum string, n int64, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, md.URL, nil)
	if err != nil {
		return "", 0, false, fmt.Errorf("download URL: %w", err)
	}
	resp, err := m.http.Do(req)
	if err != nil {
		// The URL carries a signature in its query; never print it.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return "", 0, ctx.Err() == nil, fmt.Errorf("download: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		retry := resp.StatusCode == 429 || resp.StatusCode == 408 || resp.StatusCode >= 500
		return "", 0, retry, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	w, err := m.b.NewWriter(ctx, key)
	if err != nil {
		return "", 0, false, fmt.Errorf("write %s/%s: %w", m.b, key, err)
	}
	h := sha256.New()
	sink := &errWriter{w: w}
	n, err = io.Copy(io.MultiWriter(sink, h), resp.Body)
	if err != nil {
		_ = w.Abort()
		if sink.err != nil {
			return "", 0, false, fmt.Errorf("write %s/%s: %w", m.b, key, sink.err)
		}
		return "", 0, ctx.Err() == nil, fmt.Errorf("download: %v", err)
	}
	raw := h.Sum(nil)
	if n != md.ContentLength || base64.RawURLEncoding.EncodeToString(raw)[:min(22, len(md.MediaID))] != md.MediaID[:min(22, len(md.MediaID))] {
		_ = w.Abort()
		return "", 0, true, fmt.Errorf("download: got %d bytes that do not match the media id and length %d", n, md.ContentLength)
	}
	if err := w.Commit(); err != nil {
		return "", 0, false, fmt.Errorf("write %s/%s: %w", m.b, key, err)
	}
	return base64.StdEncoding.EncodeToString(raw), n, false, nil
}

// row builds the media table row of one reference.
func mediaRow(ref mediaRef, info *mediaInfo, traceID, observationID, datasetItemID *string, field string) *schema.MediaReference {
	return &schema.MediaReference{
		ID: ref.ID, ContentType: info.ContentType, ContentLength: info.Length, UploadedAt: info.UploadedAt,
		Path: info.Path, SHA256: info.SHA256, TraceID: traceID, ObservationID: observationID, DatasetItemID: datasetItemID,
		Field: ptr(field), JSONPath: ptr(ref.JSONPath),
	}
}

// errWriter remembers a write error, to tell a failing bucket (not worth a
// retry) from a failing download.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// b64ToHex turns the media table's base64 SHA-256 into the hex form
// manifests use for every checksum.
func b64ToHex(s string) string {
	raw, _ := base64.StdEncoding.DecodeString(s)
	return hex.EncodeToString(raw)
}
