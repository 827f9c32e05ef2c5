package lfexport

import (
	"os"
	"strconv"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
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
