package lftest

import (
	"sync"
	"time"
)

// Bucket is a rate-limit resource of the real server
// (web/src/features/public-api/server/RateLimitService.ts).
type Bucket string

// The buckets the read routes use. Limits are per organization.
const (
	BucketPublicAPI        Bucket = "public-api"        // default: v2 observations, v3 scores, comments, models, ...
	BucketPublicAPILegacy  Bucket = "public-api-legacy" // traces, v1 observations, sessions
	BucketDatasets         Bucket = "datasets"          // datasets, items, runs, run items
	BucketAnnotationQueues Bucket = "annotation-queues"
	BucketPrompts          Bucket = "prompts" // unlimited on every plan of the real server
	BucketIngestion        Bucket = "ingestion"
	BucketLegacyIngestion  Bucket = "legacy-ingestion"
	BucketMediaUpload      Bucket = "media-upload"
)

// RateLimit allows Points requests per fixed Window. The window starts at
// the first request, as rate-limiter-flexible's fixed windows do.
type RateLimit struct {
	Points int
	Window time.Duration
}

// CloudHobbyLimits are the per-minute limits of the Langfuse Cloud hobby plan.
var CloudHobbyLimits = map[Bucket]RateLimit{
	BucketIngestion: {1000, time.Minute}, BucketLegacyIngestion: {100, time.Minute}, BucketPublicAPI: {30, time.Minute},
	BucketPublicAPILegacy: {15, time.Minute}, BucketDatasets: {100, time.Minute}, BucketAnnotationQueues: {100, time.Minute},
	BucketMediaUpload: {1000, time.Minute},
}

type rateLimiter struct {
	mu      sync.Mutex
	limits  map[Bucket]RateLimit
	windows map[Bucket]*rlWindow
}

type rlWindow struct {
	start time.Time
	used  int
}

type rlResult struct {
	retryAfter       time.Duration
	limit, remaining int
}

func newRateLimiter(limits map[Bucket]RateLimit) *rateLimiter {
	cp := map[Bucket]RateLimit{}
	for b, l := range limits {
		cp[b] = l
	}
	return &rateLimiter{limits: cp, windows: map[Bucket]*rlWindow{}}
}

// consume takes a point from the bucket and returns nil, or the 429 details
// when the bucket is exhausted.
func (l *rateLimiter) consume(b Bucket, now time.Time) *rlResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limits[b]
	if !ok || lim.Points <= 0 || lim.Window <= 0 {
		return nil
	}
	w := l.windows[b]
	if w == nil || !now.Before(w.start.Add(lim.Window)) {
		w = &rlWindow{start: now}
		l.windows[b] = w
	}
	w.used++
	if w.used <= lim.Points {
		return nil
	}
	return &rlResult{retryAfter: w.start.Add(lim.Window).Sub(now), limit: lim.Points, remaining: max(0, lim.Points-w.used)}
}

// SetRateLimits replaces the rate limits and starts new windows.
func (s *Server) SetRateLimits(limits map[Bucket]RateLimit) {
	fresh := newRateLimiter(limits)
	s.limiter.mu.Lock()
	s.limiter.limits, s.limiter.windows = fresh.limits, fresh.windows
	s.limiter.mu.Unlock()
}
