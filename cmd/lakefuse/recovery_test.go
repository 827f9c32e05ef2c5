package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// holdingProxy stands between lakefuse and the test server. While holding,
// it answers no OTLP request: every third one it forwards first (the server
// keeps the spans, the answer is lost), the others it drops. Everything else
// passes through.
type holdingProxy struct {
	*httptest.Server
	target  string
	holding atomic.Bool
	held    atomic.Int32
}

func newHoldingProxy(t *testing.T, target string) *holdingProxy {
	p := &holdingProxy{target: target}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *holdingProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	otlp := r.Method == http.MethodPost && r.URL.Path == "/api/public/otel/v1/traces"
	if otlp && p.holding.Load() {
		n := p.held.Add(1)
		if n%3 == 1 {
			if resp, err := p.forward(r, body); err == nil {
				_ = resp.Body.Close()
			}
		}
		<-r.Context().Done() // until the client dies
		return
	}
	resp, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (p *holdingProxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return http.DefaultTransport.RoundTrip(req)
}

// TestKillResumeUncertainBatches kills an import with SIGKILL while six
// OTLP batches are in flight (the server got two of them, the answers to
// all six are lost), then runs the same command again: it must say what it
// checks and why, look the six up together and wait for the missing ones
// once (about --wait, not six times --wait), and end with every span
// exactly once.
func TestKillResumeUncertainBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs imports")
	}
	bin := buildLakefuse(t)
	rt := newRoundTrip(t, lftest.V4)
	if code, out, errOut := run(t, "export", rt.lakeA, "--public-key="+rt.aKeys[0], "--secret-key="+rt.aKeys[1], "--base-url="+rt.srv.URL()); code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	const inFlight = 6
	const wait = 5 * time.Second
	proxy := newHoldingProxy(t, rt.srv.URL())
	state := t.TempDir()
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(bin, "import", rt.lakeA, "--yes", "--wait="+wait.String(), "--state-dir="+state,
			"--concurrency=6", "--max-batch-spans=20")
		cmd.Env = append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+rt.bKeys[0], "LANGFUSE_SECRET_KEY="+rt.bKeys[1],
			"LANGFUSE_BASE_URL="+proxy.URL, "LAKEFUSE_LOG_LEVEL=info")
		var errOut strings.Builder
		cmd.Stdout, cmd.Stderr = new(strings.Builder), &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &errOut
	}

	proxy.holding.Store(true)
	cmd, _ := start()
	deadline := time.Now().Add(time.Minute)
	for proxy.held.Load() < inFlight {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("only %d OTLP requests in flight after a minute", proxy.held.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // no seventh: the import waits for answers
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := proxy.held.Load(); got != inFlight {
		t.Fatalf("%d OTLP requests were in flight at the kill, want %d", got, inFlight)
	}
	proxy.holding.Store(false)

	begin := time.Now()
	cmd, errOut := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rerun: %v\n%s\n%s", err, cmd.Stdout, errOut)
	}
	took := time.Since(begin)
	log := errOut.String()
	t.Logf("rerun after kill -9 with %d batches of unknown outcome took %v (--wait %v)", inFlight, took.Round(time.Millisecond), wait)
	for _, want := range []string{"looking them up in the destination", "requests=6", "wait_at_most=5s", "in_destination=2", "to_send_again=4"} {
		if !strings.Contains(log, want) {
			t.Errorf("the rerun's log lacks %q:\n%s", want, log)
		}
	}
	if took >= 2*wait {
		t.Errorf("the rerun took %v: the %d batches of unknown outcome must cost one --wait (%v), not one each", took, inFlight, wait)
	}
	checkRoundTrip(t, rt, lftest.V4)
}

// TestFaultsWithinThreeTimesClean migrates the same project twice, once
// cleanly and once with 20% of the requests of export and import failing
// (500, 502, 503, resets, responses cut after the server acted): both
// destinations must hold what the lake holds, with the same differences
// (checkRoundTrip, row for row), and the run through faults must take at
// most three times the clean one (plus a second for the scheduling noise of
// a small run).
func TestFaultsWithinThreeTimesClean(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two migrations")
	}
	migrate := func(f lftest.Faults) time.Duration {
		rt := newRoundTrip(t, lftest.V4)
		rt.srv.SetFaults(f)
		start := time.Now()
		code, out, errOut := run(t, rt.migrateArgs()...)
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
		}
		st := rt.srv.Stats()
		rt.srv.SetFaults(lftest.Faults{})
		checkRoundTrip(t, rt, lftest.V4)
		t.Logf("migrate took %v, %d requests, faults %v", took.Round(time.Millisecond), st.Total, st.Faults)
		return took
	}
	clean := migrate(lftest.Faults{})
	faulted := migrate(benchFaults(42))
	if faulted > 3*clean+time.Second {
		t.Errorf("migrate through 20%% faults took %v, the clean one %v: more than 3×", faulted.Round(time.Millisecond), clean.Round(time.Millisecond))
	}
}
