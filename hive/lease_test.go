package hive

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

func TestLeaseRefusesSecondRun(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	first, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "lakefuse export"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = AcquireLease(ctx, b, LeaseOptions{Holder: "lakefuse compact"})
	if !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second lease: %v, want ErrLeaseHeld", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"lakefuse export", "host " + host, "pid " + strconv.Itoa(os.Getpid()), "started " + first.Info().StartedAt.Format("2006-01-02T")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, err := CurrentLease(ctx, b, time.Now()); err != nil || cur != nil {
		t.Fatalf("after Release: lease %v, %v", cur, err)
	}
	second, _, err := AcquireLease(ctx, b, LeaseOptions{})
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	if second.TookOver() != nil {
		t.Error("a released lease counts as taken over")
	}
	_ = second.Release(ctx)
}

// TestLeaseExclusive: runs that wait for the lease never overlap.
func TestLeaseExclusive(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"memory", "local"} {
		t.Run(name, func(t *testing.T) {
			b := bucket.NewMemory()
			if name == "local" {
				var err error
				if b, err = bucket.NewLocal(t.TempDir()); err != nil {
					t.Fatal(err)
				}
			}
			var inside, max atomic.Int32
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l, _, err := AcquireLease(ctx, b, LeaseOptions{Wait: time.Minute, Poll: time.Millisecond})
					if err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					if n > max.Load() {
						max.Store(n)
					}
					time.Sleep(5 * time.Millisecond)
					if err := l.Check(ctx); err != nil {
						t.Error(err)
					}
					inside.Add(-1)
					if err := l.Release(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if max.Load() != 1 {
				t.Fatalf("%d runs held the lease at once", max.Load())
			}
		})
	}
}

// TestLeaseTakeover: a lease not renewed within its TTL is taken over; the
// old holder then fails Check and its context ends.
func TestLeaseTakeover(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }

	old, oldCtx, err := AcquireLease(ctx, b, LeaseOptions{Holder: "old", TTL: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "new", TTL: time.Hour, Now: now}); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("before expiry: %v", err)
	}
	advance(61 * time.Minute) // the old holder stopped renewing (its ticker is real time: an hour/4)
	taker, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "new", TTL: time.Hour, Now: now})
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if got := taker.TookOver(); got == nil || got.Holder != "old" {
		t.Fatalf("TookOver = %+v", got)
	}
	if err := old.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old holder's Check: %v, want ErrLeaseLost", err)
	}
	if err := old.renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old holder's renew: %v", err)
	}
	_ = oldCtx
	if err := taker.Check(ctx); err != nil {
		t.Fatalf("taker's Check: %v", err)
	}
	// The old holder's release must not free the taker's lease.
	if err := old.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := CurrentLease(ctx, b, now()); cur == nil || cur.Holder != "new" {
		t.Fatalf("after the old holder's release the lease is %+v", cur)
	}
	_ = taker.Release(ctx)
}

// TestLeaseLostCancels: the renewer notices a takeover and cancels the
// holder's context with ErrLeaseLost.
func TestLeaseLostCancels(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	l, lctx, err := AcquireLease(ctx, b, LeaseOptions{TTL: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	// Someone else writes the next generation (as a takeover would).
	if err := b.Create(ctx, leaseKey(LeaseDir, l.Info().Generation+1), []byte(`{"token":"other","holder":"other"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lctx.Done():
		if !errors.Is(context.Cause(lctx), ErrLeaseLost) {
			t.Fatalf("cause %v", context.Cause(lctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lost lease did not cancel its context")
	}
}

// TestLeaseHolderDead: a lease whose holder ran on this machine and whose
// process is gone is taken over at once, without waiting for it to expire.
func TestLeaseHolderDead(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	me := selfProcessID()
	if me.BootID == "" || me.StartTime == "" {
		t.Skip("no /proc here")
	}
	host, _ := os.Hostname()
	// A lease of a process that has exited, valid for another hour.
	dead := LeaseInfo{Generation: 1, Token: "dead", Holder: "lakefuse export", Host: host, PID: cmd.Process.Pid,
		Machine: processID{BootID: me.BootID, PIDNS: me.PIDNS, StartTime: "1"}, ExpiresAt: time.Now().Add(time.Hour)}
	data, _ := json.Marshal(&dead)
	if err := b.Create(ctx, leaseKey(LeaseDir, 1), data); err != nil {
		t.Fatal(err)
	}
	l, _, err := AcquireLease(ctx, b, LeaseOptions{})
	if err != nil {
		t.Fatalf("lease of a dead process: %v", err)
	}
	if l.TookOver() == nil || l.TookOver().Token != "dead" {
		t.Fatalf("TookOver = %+v", l.TookOver())
	}
	// A live holder on this machine (this process) is not dead.
	if holderDead(&LeaseInfo{Host: host, PID: os.Getpid(), Machine: me}, host) {
		t.Fatal("this process counts as dead")
	}
	// Another host's holder is never judged from here.
	if holderDead(&LeaseInfo{Host: host + "-other", PID: cmd.Process.Pid, Machine: dead.Machine}, host) {
		t.Fatal("another host's holder counts as dead")
	}
	_ = l.Release(ctx)
}

// A shard's lease that expired does not keep an unsharded run out, and the
// shard, should it wake up, finds its lease lost: the run fenced it. The
// same holds the other way round.
func TestShardLeaseFenced(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	now := time.Now()
	clock := func() time.Time { return now }
	shard, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "shard 1", Shard: 1, Group: "g", TTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "unsharded", TTL: time.Hour, Now: clock}); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("unsharded run beside a live shard: %v", err)
	}
	now = now.Add(2 * time.Hour) // the shard stopped renewing
	whole, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "unsharded", TTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatalf("unsharded run after the shard's lease expired: %v", err)
	}
	if cur, _, _ := currentLease(ctx, b, shardLeaseDir(1)); cur == nil || !cur.Released || !strings.Contains(cur.Holder, "fenced by unsharded") {
		t.Fatalf("shard 1's lease is %+v, want fenced", cur)
	}
	shard.mu.Lock()
	shard.info.ExpiresAt = now.Add(time.Hour) // as if its clock had jumped
	shard.mu.Unlock()
	if err := shard.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the fenced shard: Check = %v, want ErrLeaseLost", err)
	}
	now = now.Add(2 * time.Hour) // the unsharded run stopped renewing
	s2, _, err := AcquireLease(ctx, b, LeaseOptions{Holder: "shard 2", Shard: 2, Group: "g", TTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatalf("shard after the unsharded run's lease expired: %v", err)
	}
	whole.mu.Lock()
	whole.info.ExpiresAt = now.Add(time.Hour)
	whole.mu.Unlock()
	if err := whole.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the fenced unsharded run: Check = %v, want ErrLeaseLost", err)
	}
	_ = s2.Release(ctx)
	_ = shard.Release(ctx)
	_ = whole.Release(ctx)
}
