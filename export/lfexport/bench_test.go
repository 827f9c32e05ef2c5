package lfexport

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/redact"
)

// benchObservations is the size of the benchmark's project:
// LAKEFUSE_BENCH_OBSERVATIONS (default 20,000, so that a plain
// go test -bench stays short; the figure is 1,000,000).
func benchObservations() int {
	if n, err := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_OBSERVATIONS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// BenchmarkExportV4 exports a lazily generated project of ~2 KB
// observations from the test server into a local lake and reports
// observations/s and HTTP requests per 1,000 observations.
func BenchmarkExportV4(b *testing.B) { benchExportV4(b, nil) }

// BenchmarkExportV4Redact is BenchmarkExportV4 with the default redaction
// (every detector over input, output and metadata), to compare with it.
func BenchmarkExportV4Redact(b *testing.B) {
	p, err := redact.ParsePolicy([]byte("version: 1\n"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := redact.New(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchExportV4(b, r)
}

func benchExportV4(b *testing.B, red *redact.Redactor) {
	n := benchObservations()
	p := lftest.Generate(3, lftest.SizeBench(n, 2048))
	s := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	defer s.Close()
	id, pk, sk := s.AddGeneratedProject(p)
	k := keys{id, pk, sk}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.ResetStats()
		bk, err := bucket.Open(b.Context(), b.TempDir(), bucket.Options{})
		if err != nil {
			b.Fatal(err)
		}
		export(b, bk, Options{Client: clientFor(b, s.URL(), k), Tables: []string{"observations", "traces", "sessions"}, Redactor: red})
		st := s.Stats()
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		b.ReportMetric(float64(st.Total)/float64(n)*1000, "req/1000obs")
	}
}

// latency delays every request, like a server across a network.
type latency struct {
	d  time.Duration
	rt http.RoundTripper
}

func (l latency) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(l.d)
	return l.rt.RoundTrip(r)
}

// BenchmarkExportV4Shards exports the benchmark's project of 8 days once
// unsharded and once as 4 concurrent shards, each request delayed by
// LAKEFUSE_BENCH_LATENCY (default 20ms, a server across a network), and
// reports observations/s of the whole export.
func BenchmarkExportV4Shards(b *testing.B) {
	n := benchObservations()
	delay := 20 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("LAKEFUSE_BENCH_LATENCY")); err == nil {
		delay = d
	}
	p := lftest.Generate(3, lftest.SizeBench(n, 2048))
	s := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	defer s.Close()
	id, pk, sk := s.AddGeneratedProject(p)
	from, to := lftest.DefaultEnd.AddDate(0, 0, -8), lftest.DefaultEnd
	newClient := func() *lf.Client {
		c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: pk, SecretKey: sk,
			HTTPClient: &http.Client{Transport: latency{delay, http.DefaultTransport}}})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	_ = id
	tables := []string{"observations", "traces", "sessions", "scores"}
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s.ResetStats()
			for i := 0; i < b.N; i++ {
				bk, err := bucket.Open(b.Context(), b.TempDir(), bucket.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if shards == 1 {
					export(b, bk, Options{Client: newClient(), Tables: tables, From: from, To: to})
					continue
				}
				var wg sync.WaitGroup
				errs := make([]error, shards)
				for k := 1; k <= shards; k++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[k-1] = Export(b.Context(), bk, Options{Client: newClient(), Tables: tables, From: from, To: to,
							Shard: &Shard{k, shards}, Now: func() time.Time { return to.Add(time.Hour) }})
					}()
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
			b.ReportMetric(float64(s.Stats().Total)/float64(b.N), "requests")
		})
	}
}
