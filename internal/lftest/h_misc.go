package lftest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hHealth serves GET /api/public/health (no key needed).
func hHealth(c *call) (any, error) {
	return map[string]any{"status": "OK", "version": c.s.opts.Version}, nil
}

// hProjects serves GET /api/public/projects: only the key's project.
func hProjects(c *call) (any, error) {
	md := c.p.Metadata
	if md == nil {
		md = map[string]any{}
	}
	p := map[string]any{"id": c.p.ID, "name": c.p.Name,
		"organization": map[string]any{"id": c.s.opts.OrganizationID, "name": c.s.opts.OrganizationName},
		"metadata":     md}
	// retentionDays is left out when null or 0 (no retention), as
	// web/src/pages/api/public/projects/index.ts does.
	if d := c.p.RetentionDays; d != nil && *d != 0 {
		p["retentionDays"] = *d
	}
	return map[string]any{"data": []any{p}}, nil
}

// hScoreConfigs serves GET /api/public/score-configs.
func hScoreConfigs(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	cfgs := newestFirst(c.p.ScoreConfigs(), func(s *ScoreConfig) time.Time { return s.CreatedAt }, func(s *ScoreConfig) string { return s.ID })
	return listPage(cfgs, pr, nil, func(s *ScoreConfig) any { return c.scoreConfigJSON(s) }), nil
}

// hScoreConfig serves GET /api/public/score-configs/{configId}.
func hScoreConfig(c *call) (any, error) {
	for _, s := range c.p.ScoreConfigs() {
		if s.ID == c.params["configId"] {
			return c.scoreConfigJSON(s), nil
		}
	}
	return nil, notFound("Score config not found")
}

// hModels serves GET /api/public/models: custom and Langfuse-managed models.
func hModels(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	models := c.p.Models()
	slices.SortStableFunc(models, func(a, b *Model) int {
		if a.IsLangfuseManaged != b.IsLangfuseManaged {
			return boolCmp(a.IsLangfuseManaged, b.IsLangfuseManaged)
		}
		return strings.Compare(a.ModelName, b.ModelName)
	})
	return listPage(models, pr, nil, func(m *Model) any { return c.modelJSON(m) }), nil
}

// hModel serves GET /api/public/models/{id}.
func hModel(c *call) (any, error) {
	if m := c.model(c.params["id"]); m != nil {
		return c.modelJSON(m), nil
	}
	return nil, notFound("Model not found")
}

// hComments serves GET /api/public/comments.
func hComments(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 50, 100)
	if err != nil {
		return nil, err
	}
	objType := strings.ToUpper(q.Get("objectType"))
	if objType != "" && !slices.Contains([]string{"TRACE", "OBSERVATION", "SESSION", "PROMPT"}, objType) {
		return nil, zodError(issueEnum("objectType", []string{"TRACE", "OBSERVATION", "SESSION", "PROMPT"}, q.Get("objectType")))
	}
	objID, author := q.Get("objectId"), q.Get("authorUserId")
	if objID != "" && objType == "" {
		return nil, badRequest("objectType is required when filtering by objectId")
	}
	comments := newestFirst(c.p.Comments(), func(cm *Comment) time.Time { return cm.CreatedAt }, func(cm *Comment) string { return cm.ID })
	return listPage(comments, pr, func(cm *Comment) bool {
		return (objType == "" || cm.ObjectType == objType) && (objID == "" || cm.ObjectID == objID) &&
			(author == "" || eqPtr(cm.AuthorUserID, author))
	}, func(cm *Comment) any { return c.commentJSON(cm) }), nil
}

// hComment serves GET /api/public/comments/{commentId}.
func hComment(c *call) (any, error) {
	for _, cm := range c.p.Comments() {
		if cm.ID == c.params["commentId"] {
			return c.commentJSON(cm), nil
		}
	}
	return nil, notFound("Comment not found within authorized project")
}

// hQueues serves GET /api/public/annotation-queues.
func hQueues(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	qs := newestFirst(c.p.AnnotationQueues(), func(q *AnnotationQueue) time.Time { return q.CreatedAt }, func(q *AnnotationQueue) string { return q.ID })
	return listPage(qs, pr, nil, func(q *AnnotationQueue) any { return queueJSON(q) }), nil
}

func (c *call) queue(id string) *AnnotationQueue {
	for _, q := range c.p.AnnotationQueues() {
		if q.ID == id {
			return q
		}
	}
	return nil
}

// hQueue serves GET /api/public/annotation-queues/{queueId}.
func hQueue(c *call) (any, error) {
	if q := c.queue(c.params["queueId"]); q != nil {
		return queueJSON(q), nil
	}
	return nil, notFound("Annotation queue not found")
}

// hQueueItems serves GET /api/public/annotation-queues/{queueId}/items.
func hQueueItems(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	status, err := enumParam(c.q, "status", []string{"PENDING", "COMPLETED"})
	if err != nil {
		return nil, err
	}
	q := c.queue(c.params["queueId"])
	if q == nil {
		return nil, notFound("Annotation queue not found")
	}
	items := c.p.AnnotationQueueItems()
	slices.SortStableFunc(items, func(a, b *AnnotationQueueItem) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return listPage(items, pr, func(it *AnnotationQueueItem) bool {
		return it.QueueID == q.ID && (status == "" || it.Status == status)
	}, func(it *AnnotationQueueItem) any { return queueItemJSON(it) }), nil
}

// hQueueItem serves GET /api/public/annotation-queues/{queueId}/items/{itemId}.
func hQueueItem(c *call) (any, error) {
	for _, it := range c.p.AnnotationQueueItems() {
		if it.QueueID == c.params["queueId"] && it.ID == c.params["itemId"] {
			return queueItemJSON(it), nil
		}
	}
	return nil, notFound("Annotation queue item not found")
}

// hMedia serves GET /api/public/media/{mediaId} with a signed download URL
// that this server answers.
func hMedia(c *call) (any, error) {
	m := c.p.Media(c.params["mediaId"])
	if m == nil {
		return nil, notFound("Media asset not found")
	}
	u, expiry := c.signedMediaURL(m)
	return map[string]any{"mediaId": m.ID, "contentType": m.ContentType, "contentLength": len(m.Bytes),
		"uploadedAt": isoTime(m.UploadedAt), "url": u, "urlExpiry": iso(expiry)}, nil
}

const (
	mediaPathPrefix = "/_media/"
	mediaURLTTL     = time.Hour
)

// signedMediaURL returns an S3-presigned-looking URL on this server.
func (c *call) signedMediaURL(m *Media) (string, time.Time) {
	date := c.now.UTC().Truncate(time.Second)
	path := mediaPathPrefix + url.PathEscape(c.p.ID) + "/" + url.PathEscape(m.ID)
	v := url.Values{}
	v.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	v.Set("X-Amz-Credential", "lftest/"+date.Format("20060102")+"/us-east-1/s3/aws4_request")
	v.Set("X-Amz-Date", date.Format("20060102T150405Z"))
	v.Set("X-Amz-Expires", strconv.Itoa(int(mediaURLTTL/time.Second)))
	v.Set("X-Amz-SignedHeaders", "host")
	v.Set("X-Amz-Signature", c.s.mediaSignature(path, v.Get("X-Amz-Date"), v.Get("X-Amz-Expires")))
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host + path + "?" + v.Encode(), date.Add(mediaURLTTL)
}

func (s *Server) mediaSignature(path, date, expires string) string {
	mac := hmac.New(sha256.New, s.signKey)
	fmt.Fprintf(mac, "%s\n%s\n%s", path, date, expires)
	return hex.EncodeToString(mac.Sum(nil))
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

// serveMediaDownload answers a signed media URL like S3 would: the bytes, or
// 403 for a bad signature or an expired URL.
func (s *Server) serveMediaDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), mediaPathPrefix)
	projEsc, idEsc, ok := strings.Cut(rest, "/")
	projectID, err1 := url.PathUnescape(projEsc)
	mediaID, err2 := url.PathUnescape(idEsc)
	q := r.URL.Query()
	date, expires := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires")
	want := s.mediaSignature(mediaPathPrefix+projEsc+"/"+idEsc, date, expires)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	signed, err := time.Parse("20060102T150405Z", date)
	ttl, _ := strconv.Atoi(expires)
	if err != nil || s.now().After(signed.Add(time.Duration(ttl)*time.Second)) {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	p := s.Project(projectID)
	var m *Media
	if p != nil {
		m = p.Media(mediaID)
	}
	if m == nil {
		s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Bytes)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.Bytes)
	}
}
