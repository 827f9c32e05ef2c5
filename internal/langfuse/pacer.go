package langfuse

import (
	"context"
	"sync"
	"time"
)

// limiter paces one rate-limit bucket: at most cap(slots) requests in flight, and none starts
// before until (set from Retry-After and from X-RateLimit-Remaining: 0 + X-RateLimit-Reset).
// Langfuse counts per organization and bucket, so one 429 pauses every caller of the bucket,
// not just the one that received it.
type limiter struct {
	slots chan struct{}

	mu    sync.Mutex
	until time.Time
}

func newLimiter(concurrency int) *limiter {
	return &limiter{slots: make(chan struct{}, concurrency)}
}

// acquire takes a slot and waits out the bucket's pause. The returned release must be called
// once the response has been read.
func (l *limiter) acquire(ctx context.Context, clock Clock) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-l.slots }
	// Loop: another response may extend the pause while this caller sleeps.
	for {
		l.mu.Lock()
		wait := l.until.Sub(clock.Now())
		l.mu.Unlock()
		if wait <= 0 {
			return release, nil
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			release()
			return nil, err
		}
	}
}

// pause makes the bucket wait until t (never shortening an existing pause).
func (l *limiter) pause(t time.Time) {
	l.mu.Lock()
	if t.After(l.until) {
		l.until = t
	}
	l.mu.Unlock()
}
