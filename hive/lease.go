package hive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/ctxtime"
)

// LeaseDir holds the lake's lease, one object per generation:
// _lakefuse/lease/<generation>.json. The highest generation is the lease.
const LeaseDir = MetaDir + "/lease/"

// ShardLeaseDir holds the leases of shards of sharded exports, one
// directory per shard index: _lakefuse/lease-shards/<i>/<generation>.json.
// Shards of one sharded export (the same Group) hold theirs at the same
// time; the lake's lease excludes all of them, and they exclude it.
const ShardLeaseDir = MetaDir + "/lease-shards/"

func shardLeaseDir(i int) string { return ShardLeaseDir + strconv.Itoa(i) + "/" }

// Errors of the lease.
var (
	// ErrLeaseHeld: another run holds the lake's lease.
	ErrLeaseHeld = errors.New("the lake is in use by another run")
	// ErrLeaseLost: the run's lease expired or was taken over; it must not
	// commit.
	ErrLeaseLost = errors.New("the run lost the lake's lease")
)

// Defaults of the lease.
const (
	DefaultLeaseTTL = time.Minute
	// leaseKeep is how many generations stay stored below the current one.
	leaseKeep = 8
)

// LeaseInfo is the content of a lease object: who holds it and until when.
type LeaseInfo struct {
	Generation int64  `json:"generation"`
	Token      string `json:"token"`
	Holder     string `json:"holder"` // the command, e.g. "lakefuse export"
	Host       string `json:"host"`
	PID        int    `json:"pid"`
	// Machine identifies the holder's process beyond host and pid, so that
	// a run on the same machine can tell that the holder died (see
	// holderDead): the kernel's boot id, pid namespace and the process's
	// start time. Empty where the system does not say.
	Machine   processID `json:"machine,omitempty"`
	StartedAt time.Time `json:"started_at"`
	RenewedAt time.Time `json:"renewed_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Released  bool      `json:"released,omitempty"`
	// Shard is the shard index (from 1) of a shard's lease, 0 for the
	// lake's lease; Group names the sharded export it belongs to.
	Shard int    `json:"shard,omitempty"`
	Group string `json:"group,omitempty"`
}

// live reports whether the lease still excludes others at now.
func (i *LeaseInfo) live(now time.Time, host string) bool {
	return i != nil && !i.Released && now.Before(i.ExpiresAt) && !holderDead(i, host)
}

func (i *LeaseInfo) String() string {
	shard := ""
	if i.Shard > 0 {
		shard = fmt.Sprintf(", shard %d of %s", i.Shard, i.Group)
	}
	return fmt.Sprintf("%s (host %s, pid %d%s, started %s, lease expires %s)", i.Holder, i.Host, i.PID, shard,
		i.StartedAt.UTC().Format(time.RFC3339), i.ExpiresAt.UTC().Format(time.RFC3339))
}

// LeaseOptions tune AcquireLease.
type LeaseOptions struct {
	// Holder names the command, for the message another run shows.
	Holder string
	// TTL is how long the lease lasts without renewal (DefaultLeaseTTL).
	// It is renewed every TTL/4; a run commits only with at least TTL/2
	// left. Hosts' clocks must agree to well within TTL/4.
	TTL time.Duration
	// Wait is how long to wait for a lease another run holds; 0 refuses at
	// once with ErrLeaseHeld.
	Wait time.Duration
	// Poll is the pause between tries while waiting (default TTL/10, at
	// most 5 s).
	Poll   time.Duration
	Logger *slog.Logger
	Now    func() time.Time
	// Shard, when positive, takes the lease of that shard (counted from 1)
	// of the sharded export named Group instead of the lake's lease: shards
	// of one Group run at the same time, while the lake's lease, the same
	// shard twice and shards of another Group are excluded.
	Shard int
	Group string
}

func (o *LeaseOptions) defaults() {
	if o.TTL <= 0 {
		o.TTL = DefaultLeaseTTL
	}
	if o.Poll <= 0 {
		o.Poll = min(o.TTL/10, 5*time.Second)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Holder == "" {
		o.Holder = "lakefuse"
	}
}

// Lease is a run's exclusive right to change a lake. Only the holder
// commits runs, cleans up or compacts, so two runs never supersede the same
// files, and files of a dead run can be deleted without harming a live one.
//
// Taking it is a conditional create (bucket.Create) of the next
// generation's object: of several runs exactly one succeeds. A lease whose
// holder died (not renewed within its TTL) is taken over by creating the
// next generation; the old holder, should it wake up, sees the newer
// generation and stops without committing.
type Lease struct {
	b    bucket.Bucket
	opts LeaseOptions
	dir  string // LeaseDir, or a shard's directory
	key  string

	mu      sync.Mutex
	info    LeaseInfo
	lost    error
	expired *LeaseInfo // the dead holder's lease this one took over

	cancel   context.CancelCauseFunc
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// AcquireLease takes the lease of the lake in b, waiting up to opts.Wait for
// another holder to finish. The returned context is cancelled, with cause
// ErrLeaseLost, if the lease is lost; work done for the lease should use it.
// Release gives the lease up.
func AcquireLease(ctx context.Context, b bucket.Bucket, opts LeaseOptions) (*Lease, context.Context, error) {
	opts.defaults()
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	host, _ := os.Hostname()
	now := opts.Now().UTC()
	l := &Lease{b: b, opts: opts, dir: LeaseDir, info: LeaseInfo{Token: hex.EncodeToString(tok[:]), Holder: opts.Holder, Host: host,
		PID: os.Getpid(), Machine: selfProcessID(), StartedAt: now, Shard: max(opts.Shard, 0), Group: opts.Group}}
	if opts.Shard > 0 {
		l.dir = shardLeaseDir(opts.Shard)
	} else {
		l.info.Group = ""
	}
	deadline := now.Add(opts.Wait)
	logged := false
	// wait lets holder finish: it returns once a poll interval has passed,
	// or an error when the wait is over or ctx is done.
	wait := func(now time.Time, holder *LeaseInfo) error {
		if !now.Before(deadline) {
			return fmt.Errorf("%s: %w: %s; wait for it or pass --wait", b, ErrLeaseHeld, holder)
		}
		if !logged {
			opts.Logger.Info("the lake is in use by another run; waiting", "holder", holder.String(), "wait", opts.Wait)
			logged = true
		}
		return ctxtime.Sleep(ctx, min(opts.Poll, deadline.Sub(now)+time.Millisecond))
	}
	for {
		cur, gen, err := currentLease(ctx, b, l.dir)
		if err != nil {
			return nil, nil, err
		}
		now := opts.Now().UTC()
		own := cur != nil && cur.Token == l.info.Token
		dead := false
		if own {
			// Our own create, whose answer was lost and retried.
			l.info = *cur
			l.key = leaseKey(l.dir, cur.Generation)
		} else {
			dead = cur != nil && holderDead(cur, host)
			if cur != nil && !cur.Released && now.Before(cur.ExpiresAt) && !dead {
				if err := wait(now, cur); err != nil {
					return nil, nil, err
				}
				continue
			}
			l.info.Generation = gen + 1
			l.info.RenewedAt = now
			l.info.ExpiresAt = now.Add(opts.TTL)
			data, _ := json.Marshal(&l.info)
			err = b.Create(ctx, leaseKey(l.dir, gen+1), data)
			if errors.Is(err, bucket.ErrExists) {
				continue // another run was quicker, or our lost answer: look again
			}
			if err != nil {
				return nil, nil, fmt.Errorf("take the lease of %s: %w", b, err)
			}
			l.key = leaseKey(l.dir, gen+1)
		}
		// The lake's lease and the shards' leases live in different
		// objects: each run takes its own first and then looks at the
		// others, so of two that exclude each other at least one sees the
		// other (both cannot look before the other took its lease).
		other, err := l.conflict(ctx)
		if err != nil {
			return nil, nil, err
		}
		if other != nil {
			// Give ours up and wait for the other, with a fresh token so
			// that our released generation is not mistaken for ours.
			info := l.info
			info.Released = true
			info.ExpiresAt = now
			data, _ := json.Marshal(&info)
			if err := putObject(ctx, b, l.key, data); err != nil {
				return nil, nil, fmt.Errorf("give up the lease of %s: %w", b, err)
			}
			_, _ = rand.Read(tok[:])
			l.info.Token = hex.EncodeToString(tok[:])
			if err := wait(now, other); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !own && cur != nil && !cur.Released {
			c := *cur
			l.expired = &c
			why := "it stopped renewing it"
			if dead {
				why = "its process is gone"
			}
			opts.Logger.Warn("took over the lease of a run that ended without giving it up: "+why, "holder", cur.String())
		}
		break
	}
	l.prune(ctx)
	lctx, cancel := context.WithCancelCause(ctx)
	l.cancel = cancel
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.renewLoop(ctx)
	return l, lctx, nil
}

func leaseKey(dir string, gen int64) string { return fmt.Sprintf("%s%012d.json", dir, gen) }

// conflict returns a live lease that excludes this one: for the lake's
// lease, any shard's; for a shard's, the lake's or a shard's of another
// group. A lease whose holder stopped renewing it (or died) is fenced: the
// next generation is created, released, so that the holder, should it wake
// up, finds its lease lost and does not commit.
func (l *Lease) conflict(ctx context.Context) (*LeaseInfo, error) {
	var dirs []string
	if l.opts.Shard > 0 {
		dirs = append(dirs, LeaseDir)
	}
	seen := map[string]bool{}
	err := l.b.List(ctx, ShardLeaseDir, func(a bucket.Attrs) error {
		i, _, ok := strings.Cut(strings.TrimPrefix(a.Key, ShardLeaseDir), "/")
		if n, err := strconv.Atoi(i); ok && err == nil && n > 0 && n != l.opts.Shard && !seen[i] {
			seen[i] = true
			dirs = append(dirs, shardLeaseDir(n))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the shards' leases of %s: %w", l.b, err)
	}
	host := l.info.Host
	for _, dir := range dirs {
		for {
			cur, gen, err := currentLease(ctx, l.b, dir)
			if err != nil {
				return nil, err
			}
			if cur == nil || cur.Released {
				break
			}
			if cur.live(l.opts.Now().UTC(), host) {
				if l.opts.Shard > 0 && cur.Shard > 0 && cur.Group == l.opts.Group {
					break // a sibling shard
				}
				return cur, nil
			}
			now := l.opts.Now().UTC()
			var tok [12]byte
			_, _ = rand.Read(tok[:])
			fence := LeaseInfo{Generation: gen + 1, Token: hex.EncodeToString(tok[:]), Holder: "fenced by " + l.opts.Holder,
				Host: host, PID: os.Getpid(), StartedAt: now, RenewedAt: now, ExpiresAt: now, Released: true}
			data, _ := json.Marshal(&fence)
			err = l.b.Create(ctx, leaseKey(dir, gen+1), data)
			if err == nil {
				l.opts.Logger.Warn("fenced the lease of a run that ended without giving it up", "holder", cur.String())
				break
			}
			if !errors.Is(err, bucket.ErrExists) {
				return nil, fmt.Errorf("fence the lease of %s: %w", l.b, err)
			}
		}
	}
	return nil, nil
}

// currentLease reads the highest generation's lease in dir; nil when there
// is none.
func currentLease(ctx context.Context, b bucket.Bucket, dir string) (*LeaseInfo, int64, error) {
	for {
		gen := int64(0)
		err := b.List(ctx, dir, func(a bucket.Attrs) error {
			name, ok := strings.CutSuffix(strings.TrimPrefix(a.Key, dir), ".json")
			if n, err := strconv.ParseInt(name, 10, 64); ok && err == nil && n > gen {
				gen = n
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list the lease of %s: %w", b, err)
		}
		if gen == 0 {
			return nil, 0, nil
		}
		data, err := getObject(ctx, b, leaseKey(dir, gen), 1<<20)
		if errors.Is(err, bucket.ErrNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read the lease of %s: %w", b, err)
		}
		var info LeaseInfo
		if err := json.Unmarshal(data, &info); err != nil {
			// A damaged lease cannot name a holder: treat it as expired.
			return &LeaseInfo{Generation: gen, Holder: "unreadable lease"}, gen, nil
		}
		return &info, gen, nil
	}
}

// CurrentLease returns the lake's lease, or nil when no run holds it (none
// was ever taken, or the last one was released or expired).
func CurrentLease(ctx context.Context, b bucket.Bucket, now time.Time) (*LeaseInfo, error) {
	cur, _, err := currentLease(ctx, b, LeaseDir)
	if err != nil || cur == nil || cur.Released || !now.Before(cur.ExpiresAt) {
		return nil, err
	}
	return cur, nil
}

// CurrentShardLeases returns the shards' leases held at now, by shard index.
func CurrentShardLeases(ctx context.Context, b bucket.Bucket, now time.Time) ([]LeaseInfo, error) {
	seen := map[int]bool{}
	err := b.List(ctx, ShardLeaseDir, func(a bucket.Attrs) error {
		i, _, _ := strings.Cut(strings.TrimPrefix(a.Key, ShardLeaseDir), "/")
		if n, err := strconv.Atoi(i); err == nil && n > 0 {
			seen[n] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []LeaseInfo
	for n := range seen {
		cur, _, err := currentLease(ctx, b, shardLeaseDir(n))
		if err != nil {
			return nil, err
		}
		if cur != nil && !cur.Released && now.Before(cur.ExpiresAt) {
			out = append(out, *cur)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out, nil
}

// prune deletes generations well below this one. A creator reads the
// highest generation and creates the next one right away, so no creator
// still aims at a pruned number.
func (l *Lease) prune(ctx context.Context) {
	_ = l.b.List(ctx, l.dir, func(a bucket.Attrs) error {
		name, _ := strings.CutSuffix(strings.TrimPrefix(a.Key, l.dir), ".json")
		if n, err := strconv.ParseInt(name, 10, 64); err == nil && n < l.info.Generation-leaseKeep {
			_ = l.b.Delete(ctx, a.Key)
		}
		return nil
	})
}

// TookOver returns the lease of a dead holder that this lease replaced, or
// nil.
func (l *Lease) TookOver() *LeaseInfo { return l.expired }

// Info returns the lease as last stored.
func (l *Lease) Info() LeaseInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

func (l *Lease) renewLoop(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(l.opts.TTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := l.renew(ctx); err != nil {
				l.opts.Logger.Warn("could not renew the lake's lease", "err", err)
			}
			l.mu.Lock()
			lost := l.lost
			l.mu.Unlock()
			if lost != nil {
				l.cancel(lost)
				return
			}
		}
	}
}

// renew extends the lease, unless a newer generation exists (then the lease
// is lost) or it already expired.
func (l *Lease) renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	now := l.opts.Now().UTC()
	if !now.Before(l.info.ExpiresAt) {
		l.lost = fmt.Errorf("%w: it expired at %s before it could be renewed", ErrLeaseLost, l.info.ExpiresAt.Format(time.RFC3339))
		return l.lost
	}
	cur, _, err := currentLease(ctx, l.b, l.dir)
	if err != nil {
		return err
	}
	if cur == nil || cur.Token != l.info.Token {
		holder := "none"
		if cur != nil {
			holder = cur.String()
		}
		l.lost = fmt.Errorf("%w: another run took it over: %s", ErrLeaseLost, holder)
		return l.lost
	}
	info := l.info
	info.RenewedAt = now
	info.ExpiresAt = now.Add(l.opts.TTL)
	data, _ := json.Marshal(&info)
	if err := putObject(ctx, l.b, l.key, data); err != nil {
		return err
	}
	l.info = info
	return nil
}

// Check reports whether the lease is still held with at least half its TTL
// left (renewing it first when less is left), so that what the holder does
// next (writing a manifest) happens well before anyone may take it over.
func (l *Lease) Check(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	left := l.info.ExpiresAt.Sub(l.opts.Now())
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	if left < l.opts.TTL/2 {
		if err := l.renew(ctx); err != nil {
			return err
		}
		return nil
	}
	// A takeover needs the lease expired, which it is not; but a clock that
	// jumped or a paused process can fool that, so look once more.
	cur, _, err := currentLease(ctx, l.b, l.dir)
	if err != nil {
		return err
	}
	if cur == nil || cur.Token != l.info.Token {
		l.mu.Lock()
		l.lost = fmt.Errorf("%w: another run took it over", ErrLeaseLost)
		l.mu.Unlock()
		return l.lost
	}
	return nil
}

// Release stops renewing and gives the lease up, so the next run need not
// wait for it to expire.
func (l *Lease) Release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.cancel(context.Canceled)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return nil
	}
	cur, _, err := currentLease(context.WithoutCancel(ctx), l.b, l.dir)
	if err != nil {
		return err
	}
	if cur == nil || cur.Token != l.info.Token {
		return nil
	}
	info := l.info
	info.Released = true
	info.ExpiresAt = l.opts.Now().UTC()
	data, _ := json.Marshal(&info)
	return putObject(context.WithoutCancel(ctx), l.b, l.key, data)
}

// processID identifies a process on one machine for as long as it lives.
type processID struct {
	BootID    string `json:"boot_id,omitempty"`
	PIDNS     string `json:"pid_ns,omitempty"`
	StartTime string `json:"start_time,omitempty"` // clock ticks after boot
}

func selfProcessID() processID {
	return processID{BootID: bootID(), PIDNS: pidNamespace(), StartTime: procStart(os.Getpid())}
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}

// procStart is field 22 of /proc/<pid>/stat, the process's start time; ""
// when there is no such process (or no /proc).
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields after it do not.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// holderDead reports whether the lease's holder ran on this machine, in
// this pid namespace and boot, and its process is gone (or the pid now
// belongs to a younger process). Then the next run need not wait for the
// lease to expire, as after a kill -9 or a crash. On another machine, or
// where /proc does not say, it reports false and the lease must expire.
func holderDead(info *LeaseInfo, host string) bool {
	me := selfProcessID()
	m := info.Machine
	if info.Host != host || m.BootID == "" || m.PIDNS == "" || m.StartTime == "" ||
		m.BootID != me.BootID || m.PIDNS != me.PIDNS || info.PID <= 0 {
		return false
	}
	return procStart(info.PID) != m.StartTime
}
