package lfexport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/ctxtime"
)

// Schedule drives Continuous.
type Schedule struct {
	// Every is the time between the starts of two cycles. A cycle that
	// takes longer delays the next one to the next multiple of Every.
	Every time.Duration
	// Cycles stops after this many cycles; 0 runs until ctx ends.
	Cycles int
	// Sleep waits d or until ctx ends (default: a timer). Tests pass one
	// that advances a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnCycle is called after each cycle with its result or error.
	OnCycle func(cycle int, res *Result, err error)
}

// ErrStopped: Continuous was stopped (its context ended) during a cycle,
// which committed nothing; the next export resumes it from its checkpoint.
var ErrStopped = errors.New("stopped during an export cycle; nothing of it was committed, the next start resumes it")

// Continuous exports incrementally into the lake in b every s.Every until
// ctx ends: each cycle is one committed run, starting o.Lookback before the
// previous one's end, whose partitions supersede the ones it re-read, so the
// lake keeps the newest version of each row and never two. A failed cycle
// is reported to s.OnCycle and retried at the next tick (it resumes from its
// checkpoint). It returns nil when ctx ends between cycles, ErrStopped when
// it ends during one, and the error of invalid options at once.
func Continuous(ctx context.Context, b bucket.Bucket, o Options, s Schedule) error {
	if s.Every <= 0 {
		return fmt.Errorf("%w: --every must be positive", ErrOptions)
	}
	o.Incremental = true
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Manifests == nil {
		o.Manifests = hive.NewManifestCache()
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = ctxtime.Sleep
	}
	next := o.Now()
	for cycle := 1; ; cycle++ {
		res, err := Export(ctx, b, o)
		if ctx.Err() != nil {
			if res != nil && res.Manifest != nil {
				return nil // the cycle committed just before the stop
			}
			return ErrStopped
		}
		if s.OnCycle != nil {
			s.OnCycle(cycle, res, err)
		}
		if errors.Is(err, ErrOptions) {
			return err
		}
		if s.Cycles > 0 && cycle >= s.Cycles {
			return err
		}
		now := o.Now()
		// The next multiple of Every after now: cycles that a long one
		// overran are skipped, not run back to back.
		next = next.Add(s.Every)
		if !next.After(now) {
			next = next.Add((now.Sub(next)/s.Every + 1) * s.Every)
		}
		if sleep(ctx, next.Sub(now)) != nil {
			return nil
		}
	}
}
