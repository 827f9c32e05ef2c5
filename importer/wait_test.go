package importer

import (
	"context"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// An OTLP batch whose outcome is unknown and that never arrived costs about
// the ingestion lag the destination showed on a batch it accepted (here
// 200 ms), not --wait; without an accepted batch to learn from, --wait.
func TestWaitIngestedLearnsTheLag(t *testing.T) {
	ctx := context.Background()
	led, err := openLedger(ctx, bucket.NewMemory(), "l/")
	if err != nil {
		t.Fatal(err)
	}
	im := &importer{led: led, o: Options{Wait: 10 * time.Second, Poll: 100 * time.Millisecond}}
	im.o.defaults()
	missing := func() (bool, error) { return false, nil }

	// No batch accepted in this run: the whole (here shortened) wait.
	im.o.Wait = 300 * time.Millisecond
	start := time.Now()
	if ok, err := im.waitIngested(ctx, missing, func([]string) (bool, error) { t.Error("no accepted batch to look up"); return false, nil }); ok || err != nil {
		t.Fatalf("waitIngested = %v, %v", ok, err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("without a measured lag it gave up after %v, before --wait", took)
	}

	// A batch accepted now that the destination shows 200 ms later.
	im.o.Wait = 10 * time.Second
	if err := led.write(ctx, entry{K: "intent", Kind: "observations", Key: "obs:f:0", Probe: []string{"t", "s", "t", "s"}}); err != nil {
		t.Fatal(err)
	}
	if err := led.write(ctx, entry{K: "rows", Kind: "observations", File: "f", From: 0, To: 1, Key: "obs:f:0"}); err != nil {
		t.Fatal(err)
	}
	a, ok := led.lastAck()
	if !ok || a.probe[0] != "t" {
		t.Fatalf("lastAck = %+v, %v: the accepted batch is not recorded", a, ok)
	}
	visible := func(p []string) (bool, error) { return time.Since(a.at) >= 200*time.Millisecond, nil }
	start = time.Now()
	if ok, err := im.waitIngested(ctx, missing, visible); ok || err != nil {
		t.Fatalf("waitIngested = %v, %v", ok, err)
	}
	took := time.Since(start)
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("with a lag of 200 ms it waited %v, want about twice the lag plus %v (and far less than --wait %v)", took, lagGrace, im.o.Wait)
	}

	// A batch that shows up is found without waiting out the lag.
	start = time.Now()
	found := func() (bool, error) { return time.Since(start) > 120*time.Millisecond, nil }
	if ok, err := im.waitIngested(ctx, found, visible); !ok || err != nil {
		t.Fatalf("waitIngested of a batch that arrives = %v, %v", ok, err)
	}

	// Requests of an earlier run (resolved by a rerun) teach no lag.
	led2, err := openLedger(ctx, led.b, "l/")
	if err != nil {
		t.Fatal(err)
	}
	if err := led2.write(ctx, entry{K: "intent", Kind: "observations", Key: "obs:f:1", Probe: []string{"t", "s"}}); err != nil {
		t.Fatal(err)
	}
	led3, err := openLedger(ctx, led.b, "l/")
	if err != nil {
		t.Fatal(err)
	}
	if err := led3.write(ctx, entry{K: "rows", File: "f", From: 1, To: 2, Key: "obs:f:1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := led3.lastAck(); ok {
		t.Error("a request of an earlier run counts as accepted in this run")
	}
}
