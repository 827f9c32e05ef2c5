package lftest_test

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

func Example() {
	s := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	defer s.Close()
	_, pk, sk := s.AddGeneratedProject(lftest.Generate(1, lftest.SizeSmall))

	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/public/v2/observations?limit=2&fields=core,io", nil)
	req.SetBasicAuth(pk, sk)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, s.Requests("GET /api/public/v2/observations"))
	// Output: 200 1
}

func TestLazyMillionStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a million observations")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := lftest.Generate(1, lftest.SizeBench(1_000_000, 2048))
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := p.Counts().Observations; n != 1_000_000 {
		t.Fatalf("%d observations", n)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 200<<20 {
		t.Errorf("a lazy million-observation project holds %d MB, want under 200 MB", grown>>20)
	}
	runtime.KeepAlive(p)
}
