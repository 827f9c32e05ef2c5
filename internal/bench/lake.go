// Package bench measures lakefuse's hot paths on generated data, for
// `lakefuse bench` and the go test benchmarks. Peak memory is read from the
// kernel (VmHWM), so each measurement that reports it must run in a fresh
// process: `lakefuse bench` re-executes itself once per size.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/schema"
)

// Result is one measurement.
type Result struct {
	Name     string  `json:"name"`
	Rows     int64   `json:"rows"`
	Bytes    int64   `json:"bytes"` // payload bytes handled (uncompressed JSON text)
	Seconds  float64 `json:"seconds"`
	PeakRSS  int64   `json:"peak_rss_bytes"`
	Requests int64   `json:"requests,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// RowsPerSec is the throughput in rows.
func (r Result) RowsPerSec() float64 { return float64(r.Rows) / r.Seconds }

// MBPerSec is the throughput in payload megabytes (10^6).
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Seconds }

// PeakRSS returns the process's peak resident set size (VmHWM), or 0 where
// the kernel does not say.
func PeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

var vocabulary = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 2000)
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for i := range words {
		n := 2 + r.IntN(9)
		var sb strings.Builder
		for j := 0; j < n; j++ {
			sb.WriteByte(letters[r.IntN(len(letters))])
		}
		words[i] = sb.String()
	}
	words = append(words, "こんにちは", "世界", "🎉", "naïve", "\\\"quoted\\\"")
	return words
}()

// text returns about n bytes of word salad: realistic for compression, unlike
// a repeated pattern.
func text(r *rand.Rand, n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(vocabulary[r.IntN(len(vocabulary))])
		sb.WriteByte(' ')
	}
	return sb.String()
}

// Observations returns a pool of distinct observation rows whose JSON
// columns (input, output, metadata) hold about payload bytes in all.
func Observations(pool, payload int) []schema.Observation {
	r := rand.New(rand.NewPCG(7, 11))
	types := []string{"SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"}
	out := make([]schema.Observation, pool)
	for i := range out {
		in := fmt.Sprintf(`{"messages":[{"role":"system","content":%q},{"role":"user","content":%q}]}`, text(r, payload/4), text(r, payload/4))
		o := fmt.Sprintf(`{"role":"assistant","content":%q}`, text(r, payload/3))
		md := fmt.Sprintf(`{"user_tier":"pro","request_id":"%x","notes":%q}`, r.Uint64(), text(r, payload/12))
		params := `{"temperature":0.2,"max_tokens":512}`
		name, model, env := fmt.Sprintf("step-%d", i%17), "gpt-4o-mini", "production"
		trace := fmt.Sprintf("%032x", r.Uint64())
		out[i] = schema.Observation{
			TraceID: &trace, Type: types[i%len(types)], Name: &name, Level: "DEFAULT", Environment: env,
			Input: &in, Output: &o, Metadata: &md, ProvidedModelName: &model, ModelParameters: &params,
			UsageDetails: map[string]int64{"input": int64(r.IntN(4000)), "output": int64(r.IntN(800))},
			CostDetails:  map[string]float64{"total": r.Float64() / 100},
			Tags:         []string{"bench"},
		}
	}
	return out
}

func payloadBytes(o *schema.Observation) int64 {
	return int64(len(*o.Input) + len(*o.Output) + len(*o.Metadata))
}

// WriteObservations writes n observation rows (about payload bytes of JSON
// each) to a new lake at location. Rows are spread over a week, as a real
// export's are.
func WriteObservations(ctx context.Context, location string, n, payload int) (write Result, err error) {
	b, err := bucket.Open(ctx, location, bucket.Options{})
	if err != nil {
		return write, err
	}
	defer b.Close()
	pool := Observations(512, payload)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	step := 7 * 24 * time.Hour / time.Duration(n) // a week of data, whatever n
	run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "bench", Source: hive.Source{Kind: "generated"}})
	if err != nil {
		return write, err
	}
	t0 := time.Now()
	var bytes int64
	for i := 0; i < n; i++ {
		row := pool[i%len(pool)]
		row.ID = fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
		row.StartTime = start.Add(time.Duration(i) * step)
		end := row.StartTime.Add(1500 * time.Millisecond)
		row.EndTime = &end
		bytes += payloadBytes(&row)
		if err := run.Append(ctx, schema.Observations, "bench", &row); err != nil {
			_ = run.Abort(ctx)
			return write, err
		}
	}
	if _, err := run.Commit(ctx); err != nil {
		return write, err
	}
	return Result{Name: "lake write", Rows: int64(n), Bytes: bytes, Seconds: time.Since(t0).Seconds()}, nil
}

// ReadObservations reads every observation of the lake at location, decoding
// each row.
func ReadObservations(ctx context.Context, location string) (read Result, err error) {
	b, err := bucket.Open(ctx, location, bucket.Options{})
	if err != nil {
		return read, err
	}
	defer b.Close()
	t0 := time.Now()
	l, err := hive.Open(ctx, b)
	if err != nil {
		return read, err
	}
	var rows int64
	var rbytes int64
	err = hive.ScanRows(ctx, l, func(_ hive.Partition, o *schema.Observation) error {
		rows++
		rbytes += payloadBytes(o)
		return nil
	})
	if err != nil {
		return read, err
	}
	if want := l.Rows(schema.Observations.Name); rows != want {
		return read, fmt.Errorf("read %d rows, the manifests list %d", rows, want)
	}
	return Result{Name: "lake read", Rows: rows, Bytes: rbytes, Seconds: time.Since(t0).Seconds()}, nil
}

// WriteSmallFiles writes n observation rows to a new lake at location as
// runs runs of disjoint rows, each spread over the same week: every daily
// partition gets a file from every run, as hourly incremental exports of a
// busy project leave. It is the lake CompactLake measures.
func WriteSmallFiles(ctx context.Context, location string, n, payload, runs int) (Result, error) {
	b, err := bucket.Open(ctx, location, bucket.Options{})
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	pool := Observations(512, payload)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	perRun := (n + runs - 1) / runs
	step := 7 * 24 * time.Hour / time.Duration(perRun)
	t0 := time.Now()
	var bytes int64
	for r := 0; r < runs; r++ {
		run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "bench", Source: hive.Source{Kind: "generated"}})
		if err != nil {
			return Result{}, err
		}
		for j := 0; j < perRun && r*perRun+j < n; j++ {
			i := r*perRun + j
			row := pool[i%len(pool)]
			row.ID = fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
			row.StartTime = start.Add(time.Duration(j)*step + time.Duration(r)*time.Second)
			end := row.StartTime.Add(1500 * time.Millisecond)
			row.EndTime = &end
			bytes += payloadBytes(&row)
			if err := run.Append(ctx, schema.Observations, "bench", &row); err != nil {
				_ = run.Abort(ctx)
				return Result{}, err
			}
		}
		if _, err := run.Commit(ctx); err != nil {
			return Result{}, err
		}
	}
	return Result{Name: fmt.Sprintf("lake write (%d runs)", runs), Rows: int64(n), Bytes: bytes, Seconds: time.Since(t0).Seconds()}, nil
}

// CompactLake compacts the lake at location (as lakefuse compact does:
// lease, clean, merge) and measures it.
func CompactLake(ctx context.Context, location string) (Result, error) {
	b, err := bucket.Open(ctx, location, bucket.Options{})
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	t0 := time.Now()
	lease, ctx, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "lakefuse bench"})
	if err != nil {
		return Result{}, err
	}
	defer lease.Release(ctx)
	l, err := hive.Open(ctx, b)
	if err != nil {
		return Result{}, err
	}
	filesIn := len(l.Files(""))
	res, err := hive.Compact(ctx, l, hive.CompactOptions{Lease: lease})
	if err != nil {
		return Result{}, err
	}
	return Result{Name: "compact", Rows: res.Rows, Seconds: time.Since(t0).Seconds(),
		Note: fmt.Sprintf("%d files (%d MB) into %d (%d MB), moving into place %.2fs", filesIn, res.BytesIn/1e6, res.FilesOut,
			res.BytesOut/1e6, res.Publish.Duration.Seconds())}, nil
}
