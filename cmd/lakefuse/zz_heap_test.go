package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestZZHeap(t *testing.T) {
	if os.Getenv("ZZHEAP") == "" {
		t.Skip()
	}
	debug.SetMemoryLimit(192 << 20)
	done := make(chan struct{})
	go func() {
		var best uint64
		for {
			select {
			case <-done:
				return
			case <-time.After(1000 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			st, _ := os.ReadFile("/proc/self/status")
			rss := ""
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "VmRSS") {
					rss = l
				}
			}
			if ms.HeapAlloc > best {
				best = ms.HeapAlloc
				f, _ := os.Create("/tmp/zzheap.prof")
				_ = pprof.WriteHeapProfile(f)
				f.Close()
				t.Logf("%s heap %d MB sys %d MB %s", time.Now().Format("15:04:05"), best>>20, ms.HeapSys>>20, rss)
			}
		}
	}()
	var out, errb bytes.Buffer
	code := Do([]string{"demo", "--dir", t.TempDir(), "--observations", os.Getenv("ZZHEAP")}, nil, &out, &errb)
	close(done)
	t.Logf("code %d", code)
	os.WriteFile("/tmp/zzheap.out", out.Bytes(), 0o644)
}
