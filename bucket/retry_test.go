package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"
)

// flaky fails the first `fails` calls of each operation with err.
type flaky struct {
	Bucket
	err   error
	fails int
	calls map[string]int
}

func newFlaky(err error, fails int) *flaky {
	m := newMemory("mem://flaky")
	for i := range 5 {
		w, _ := m.NewWriter(context.Background(), fmt.Sprintf("k%d", i))
		_, _ = w.Write([]byte("0123456789"))
		_ = w.Commit()
	}
	return &flaky{Bucket: m, err: err, fails: fails, calls: map[string]int{}}
}

func (f *flaky) fail(op string) error {
	f.calls[op]++
	if f.calls[op] <= f.fails {
		return f.err
	}
	return nil
}

func (f *flaky) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := f.fail("write"); err != nil {
		return nil, err
	}
	return f.Bucket.NewWriter(ctx, key)
}

func (f *flaky) Open(ctx context.Context, key string) (Object, error) {
	if err := f.fail("open"); err != nil {
		return nil, err
	}
	o, err := f.Bucket.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	return flakyObject{o, f}, nil
}

type flakyObject struct {
	Object
	f *flaky
}

func (o flakyObject) ReadAt(p []byte, off int64) (int, error) {
	if err := o.f.fail("read"); err != nil {
		return 0, err
	}
	return o.Object.ReadAt(p, off)
}

func (f *flaky) Stat(ctx context.Context, key string) (Attrs, error) {
	if err := f.fail("stat"); err != nil {
		return Attrs{}, err
	}
	return f.Bucket.Stat(ctx, key)
}

func (f *flaky) Delete(ctx context.Context, key string) error {
	if err := f.fail("delete"); err != nil {
		return err
	}
	return f.Bucket.Delete(ctx, key)
}

// List call n fails after passing n keys on, so each retry gets further.
func (f *flaky) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	f.calls["list"]++
	n := 0
	return f.Bucket.List(ctx, prefix, func(a Attrs) error {
		if n == f.calls["list"] && f.calls["list"] <= f.fails {
			return f.err
		}
		n++
		return fn(a)
	})
}

func noWait(delays *[]int) RetryPolicy {
	return RetryPolicy{Backoff: func(n int) time.Duration {
		*delays = append(*delays, n)
		return 0
	}}
}

var transientErrs = map[string]error{
	"marked":     transientError{errors.New("503 SlowDown")},
	"reset":      fmt.Errorf("read: %w", syscall.ECONNRESET),
	"refused":    &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED},
	"timeout":    &net.DNSError{IsTimeout: true},
	"truncated":  fmt.Errorf("read body: %w", io.ErrUnexpectedEOF),
	"wrapped503": fmt.Errorf("get x: %w", transientError{errors.New("500")}),
}

func TestRetryTransient(t *testing.T) {
	ctx := context.Background()
	for name, terr := range transientErrs {
		t.Run(name, func(t *testing.T) {
			f := newFlaky(terr, 2)
			var delays []int
			b := portable(f, Options{Retry: noWait(&delays)})
			if _, err := b.Stat(ctx, "k1"); err != nil {
				t.Errorf("Stat: %v", err)
			}
			o, err := b.Open(ctx, "k1")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			p := make([]byte, 4)
			if n, err := o.ReadAt(p, 8); n != 2 || err != io.EOF || string(p[:n]) != "89" {
				t.Errorf("ReadAt at the end = %d %q, %v; want 2 \"89\", EOF", n, p[:n], err)
			}
			if err := b.Delete(ctx, "k2"); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if _, err := b.NewWriter(ctx, "new"); err != nil {
				t.Errorf("NewWriter: %v", err)
			}
			var keys []string
			if err := b.List(ctx, "", func(a Attrs) error {
				keys = append(keys, a.Key)
				return nil
			}); err != nil {
				t.Errorf("List: %v", err)
			}
			// The failed listings passed on k0, then k0 and k1 again:
			// each key reaches fn once.
			if want := []string{"k0", "k1", "k3", "k4"}; !slices.Equal(keys, want) {
				t.Errorf("List delivered %q, want %q", keys, want)
			}
			for _, op := range []string{"stat", "open", "read", "delete", "write", "list"} {
				if f.calls[op] != 3 {
					t.Errorf("%s tried %d times, want 3", op, f.calls[op])
				}
			}
			if want := []int{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}; !slices.Equal(delays, want) {
				t.Errorf("backoff asked for %v, want %v", delays, want)
			}
		})
	}
}

func TestRetryPermanent(t *testing.T) {
	ctx := context.Background()
	for _, perr := range []error{
		ErrNotFound, ErrPermission, ErrNoBucket, ErrBadCredentials,
		fmt.Errorf("x: %w", &kindError{kind: ErrPermission, err: transientError{errors.New("403")}}),
		errors.New("some unknown failure"),
		context.Canceled,
	} {
		f := newFlaky(perr, 1)
		var delays []int
		b := portable(f, Options{Retry: noWait(&delays)})
		if _, err := b.Stat(ctx, "k1"); !errors.Is(err, perr) && err.Error() != perr.Error() {
			t.Errorf("Stat = %v, want %v", err, perr)
		}
		if f.calls["stat"] != 1 || len(delays) != 0 {
			t.Errorf("%v: tried %d times, want once", perr, f.calls["stat"])
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFlaky(transientErrs["marked"], 100)
	var delays []int
	p := noWait(&delays)
	p.MaxAttempts = 4
	b := portable(f, Options{Retry: p})
	_, err := b.Stat(context.Background(), "k1")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("gave up after 4 attempts")) {
		t.Errorf("Stat = %v, want to give up after 4 attempts", err)
	}
	if f.calls["stat"] != 4 {
		t.Errorf("tried %d times, want 4", f.calls["stat"])
	}
	p.MaxAttempts = 1
	f = newFlaky(transientErrs["marked"], 100)
	if _, err := portable(f, Options{Retry: p}).Stat(context.Background(), "k1"); err == nil || f.calls["stat"] != 1 {
		t.Errorf("MaxAttempts 1: %v after %d tries", err, f.calls["stat"])
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	f := newFlaky(transientErrs["marked"], 100)
	ctx, cancel := context.WithCancel(context.Background())
	b := portable(f, Options{Retry: RetryPolicy{Backoff: func(int) time.Duration {
		cancel()
		return time.Hour
	}}})
	start := time.Now()
	_, err := b.Stat(ctx, "k1")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("Stat = %v after %v, want context.Canceled at once", err, time.Since(start))
	}
}

func TestRetryListCallerError(t *testing.T) {
	// An error from fn is the caller's: returned as is, never retried, even
	// when it looks transient.
	f := newFlaky(transientErrs["marked"], 0)
	b := portable(f, Options{Retry: RetryPolicy{Backoff: func(int) time.Duration { return 0 }}})
	stop := fmt.Errorf("stop: %w", io.ErrUnexpectedEOF)
	err := b.List(context.Background(), "", func(Attrs) error { return stop })
	if err != stop || f.calls["list"] != 1 {
		t.Errorf("List = %v after %d listings, want fn's error after 1", err, f.calls["list"])
	}
}

func TestDefaultBackoff(t *testing.T) {
	var p RetryPolicy
	if p.attempts() != 8 {
		t.Errorf("default attempts = %d", p.attempts())
	}
	for n, want := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 5: 4 * time.Second, 10: 30 * time.Second, 100: 30 * time.Second} {
		for range 20 {
			if d := p.delay(n); d < want/2 || d > want {
				t.Errorf("delay(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}
