package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/lakefuse/lakefuse/internal/ctxtime"
)

// RetryPolicy says how transient store errors (5xx, throttling, timeouts,
// dropped connections) are retried. The zero value is the default.
type RetryPolicy struct {
	// MaxAttempts counts every try, the first included: 0 means 8, 1 turns
	// retrying off.
	MaxAttempts int
	// Backoff is the pause before retry n (1 for the first retry). Nil means
	// 250ms doubled per retry up to 30s, with jitter. Tests pass a function
	// returning 0.
	Backoff func(n int) time.Duration
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts <= 0 {
		return 8
	}
	return p.MaxAttempts
}

func (p RetryPolicy) delay(n int) time.Duration {
	if p.Backoff != nil {
		return p.Backoff(n)
	}
	d := min(250*time.Millisecond<<min(n-1, 10), 30*time.Second)
	// Equal jitter: half fixed, half random, so clients that failed together
	// do not retry together.
	return d/2 + rand.N(d/2+1)
}

// transientError marks a driver error as worth retrying without changing its
// message.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// isTransient reports whether trying again may succeed. Error kinds callers
// branch on are permanent; drivers mark store-specific transient errors with
// transientError; network failures are recognised here for every driver.
func isTransient(err error) bool {
	for _, kind := range []error{ErrNotFound, ErrPermission, ErrNoBucket, ErrBadCredentials, ErrInvalidKey, ErrBadLocation, ErrExists, context.Canceled} {
		if errors.Is(err, kind) {
			return false
		}
	}
	var te transientError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, kind := range []error{io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// retrying retries idempotent operations (Stat, Open and reads, List, Delete)
// and the start of a write. A write is not retried once bytes went to the
// store: a stream cannot be replayed. Drivers retry what they still hold in
// memory (the S3 driver: each multipart part).
type retrying struct {
	b   Bucket
	p   RetryPolicy
	log *slog.Logger
}

var _ Bucket = (*retrying)(nil)

func newRetrying(b Bucket, p RetryPolicy, log *slog.Logger) *retrying {
	return &retrying{b: b, p: p, log: log}
}

func (r *retrying) do(ctx context.Context, op, key string, f func() error) error {
	max := r.p.attempts()
	for n := 1; ; n++ {
		err := f()
		if err == nil || !isTransient(err) || ctx.Err() != nil {
			return err
		}
		if n >= max {
			return fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		d := r.p.delay(n)
		r.log.WarnContext(ctx, "bucket: transient error, retrying",
			"location", r.b.String(), "op", op, "key", key, "attempt", n, "delay", d, "err", err)
		if cerr := ctxtime.Sleep(ctx, d); cerr != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", err, cerr)
		}
	}
}

func (r *retrying) NewWriter(ctx context.Context, key string) (w Writer, err error) {
	err = r.do(ctx, "write", key, func() (err error) {
		w, err = r.b.NewWriter(ctx, key)
		return err
	})
	return w, err
}

func (r *retrying) Open(ctx context.Context, key string) (o Object, err error) {
	err = r.do(ctx, "open", key, func() (err error) {
		o, err = r.b.Open(ctx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &retryingObject{Object: o, r: r, ctx: ctx, key: key}, nil
}

type retryingObject struct {
	Object
	r   *retrying
	ctx context.Context
	key string
}

func (o *retryingObject) ReadAt(p []byte, off int64) (n int, err error) {
	err = o.r.do(o.ctx, "read", o.key, func() (err error) {
		n, err = o.Object.ReadAt(p, off)
		if err == io.EOF {
			return nil
		}
		return err
	})
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (r *retrying) Stat(ctx context.Context, key string) (a Attrs, err error) {
	err = r.do(ctx, "stat", key, func() (err error) {
		a, err = r.b.Stat(ctx, key)
		return err
	})
	return a, err
}

// List starts over after a failure and skips what fn has seen: listings are
// in key order, so remembering the last key is enough.
func (r *retrying) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	var last string
	seen := false
	var fnErr error
	err := r.do(ctx, "list", prefix, func() error {
		err := r.b.List(ctx, prefix, func(a Attrs) error {
			if seen && a.Key <= last {
				return nil
			}
			if err := fn(a); err != nil {
				fnErr = err
				return err
			}
			last, seen = a.Key, true
			return nil
		})
		if fnErr != nil {
			return nil // the caller's error: never retried
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (r *retrying) Delete(ctx context.Context, key string) error {
	return r.do(ctx, "delete", key, func() error { return r.b.Delete(ctx, key) })
}

// Create is retried like a write that has not started: data is in memory.
// A retry after an attempt whose answer was lost may find the object it
// stored itself and fail with ErrExists; callers that must tell the two
// apart store something that identifies them and read it back (see
// hive.AcquireLease).
func (r *retrying) Create(ctx context.Context, key string, data []byte) error {
	return r.do(ctx, "create", key, func() error { return r.b.Create(ctx, key, data) })
}

// Move is retried; when an attempt whose answer was lost did move the
// object, the retry finds src gone and dst present, which is success.
func (r *retrying) Move(ctx context.Context, src, dst string) error {
	tried := false
	return r.do(ctx, "move", src, func() error {
		err := r.b.Move(ctx, src, dst)
		if tried && errors.Is(err, ErrNotFound) {
			if _, serr := r.b.Stat(ctx, dst); serr == nil {
				return nil
			}
		}
		tried = true
		return err
	})
}

func (r *retrying) String() string { return r.b.String() }
func (r *retrying) Close() error   { return r.b.Close() }
