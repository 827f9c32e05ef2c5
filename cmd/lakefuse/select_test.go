package main

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/miniotest"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/schema"
)

// selectFixture is a generated project exported whole into a memory lake,
// and the lake's rows.
type selectFixture struct {
	srv  *lftest.Server
	lake *hive.Lake
	rows map[string][]any
}

func newSelectFixture(t *testing.T, mode lftest.Mode, omit []string) *selectFixture {
	t.Helper()
	srv := lftest.NewServer(lftest.Options{Mode: mode})
	t.Cleanup(srv.Close)
	size := lftest.SizeSmall
	size.Traces = 24
	_, pk, sk := srv.AddGeneratedProject(lftest.Generate(7, size))
	ctx := context.Background()
	b := bucket.NewMemory()
	if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: testClient(t, srv, pk, sk), OmitFields: omit,
		Now: func() time.Time { return lftest.DefaultEnd.Add(time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	f := &selectFixture{srv: srv, lake: l, rows: map[string][]any{}}
	for _, tab := range schema.Tables() {
		err := l.Scan(ctx, tab.Name, hive.ScanOptions{}, func(bt hive.Batch) error {
			d, err := schema.NewDecoder(tab, bt.Record.Schema())
			if err != nil {
				return err
			}
			for i := 0; i < int(bt.Record.NumRows()); i++ {
				row := tab.NewRow()
				if err := d.Decode(bt.Record, i, row); err != nil {
					return err
				}
				f.rows[tab.Name] = append(f.rows[tab.Name], row)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func testClient(t *testing.T, srv *lftest.Server, pk, sk string) *lf.Client {
	t.Helper()
	c, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// commonValue is the value most rows carry.
func commonValue(rows []any, val func(any) string) string {
	n := map[string]int{}
	for _, r := range rows {
		if v := val(r); v != "" {
			n[v]++
		}
	}
	best, bn := "", 0
	for v, c := range n {
		if c > bn || (c == bn && v < best) {
			best, bn = v, c
		}
	}
	return best
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (f *selectFixture) filters() map[string]*selection.Filter {
	tr := f.rows["traces"]
	get := func(fn func(*schema.Trace) string) string {
		return commonValue(tr, func(r any) string { return fn(r.(*schema.Trace)) })
	}
	var tags []string
	for _, r := range tr {
		if t := r.(*schema.Trace); len(t.Tags) > 1 {
			tags = t.Tags[:2]
			break
		}
	}
	score := commonValue(f.rows["scores"], func(r any) string {
		if s := r.(*schema.Score); s.TraceID != nil {
			return s.Name
		}
		return ""
	})
	return map[string]*selection.Filter{
		"trace_name":       {TraceNames: []string{get(func(t *schema.Trace) string { return deref(t.Name) })}},
		"user_id":          {UserIDs: []string{get(func(t *schema.Trace) string { return deref(t.UserID) })}},
		"session_id":       {SessionIDs: []string{get(func(t *schema.Trace) string { return deref(t.SessionID) })}},
		"release":          {Releases: []string{get(func(t *schema.Trace) string { return deref(t.Release) })}},
		"environment":      {Environments: []string{get(func(t *schema.Trace) string { return t.Environment })}},
		"tags_any":         {TagsAny: tags},
		"tags_all":         {TagsAll: tags},
		"observation_type": {ObservationTypes: []string{"GENERATION"}},
		"level":            {Levels: []string{"ERROR", "WARNING"}},
		"score_name":       {ScoreNames: []string{score}},
	}
}

// TestImportFilter imports a full lake with each filter into a fresh
// project: every trace-linked table sends exactly the rows the in-memory
// reference selects, and the destination holds those traces and no others;
// the preflight's billable units are what the destination then counts.
func TestImportFilter(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			fx := newSelectFixture(t, mode, nil)
			cases := fx.filters()
			names := make([]string, 0, len(cases))
			for n := range cases {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				f := cases[name]
				t.Run(name, func(t *testing.T) {
					want := selection.SelectRows(f, fx.rows)
					if n := len(want["traces"]); n == 0 || n == len(fx.rows["traces"]) {
						t.Fatalf("filter %s selects %d of %d traces: not a test", f, n, len(fx.rows["traces"]))
					}
					checkSelectedImport(t, fx, importer.Options{Filter: f}, want)
				})
			}
			t.Run("time", func(t *testing.T) {
				// The newer half of the traces, by the trace's own time.
				var times []time.Time
				for _, r := range fx.rows["traces"] {
					times = append(times, r.(*schema.Trace).Timestamp)
				}
				sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
				from := times[len(times)/2]
				rows := map[string][]any{}
				for k, v := range fx.rows {
					rows[k] = v
				}
				rows["traces"] = nil
				for _, r := range fx.rows["traces"] {
					if !r.(*schema.Trace).Timestamp.Before(from) {
						rows["traces"] = append(rows["traces"], r)
					}
				}
				// Select by id: a filter every kept trace meets.
				ids := map[string]bool{}
				for _, r := range rows["traces"] {
					ids[r.(*schema.Trace).ID] = true
				}
				want := keepTraces(fx.rows, ids)
				checkSelectedImport(t, fx, importer.Options{From: from}, want)
			})
		})
	}
}

// keepTraces applies a selection of trace ids to rows.
func keepTraces(rows map[string][]any, ids map[string]bool) map[string][]any {
	set := selection.NewSet(ids)
	out := map[string][]any{}
	for _, t := range selection.KeepOrder {
		for _, r := range rows[t] {
			if set.Keep(r) {
				out[t] = append(out[t], r)
			}
		}
	}
	return out
}

func checkSelectedImport(t *testing.T, fx *selectFixture, o importer.Options, want map[string][]any) {
	t.Helper()
	id, pk, sk := fx.srv.AddProject("dest " + t.Name())
	o.Client, o.Lake, o.Wait, o.Poll = testClient(t, fx.srv, pk, sk), fx.lake, 5*time.Second, 50*time.Millisecond
	o.State = bucket.NewMemory()
	sum, err := importer.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	res := map[string]*importer.Result{}
	for _, r := range sum.Results {
		res[r.Table] = r
	}
	for _, tab := range selection.KeepOrder {
		r := res[tab]
		if tab == "traces" || tab == "sessions" {
			continue // they travel with observations
		}
		if r == nil {
			if len(want[tab]) > 0 {
				t.Errorf("%s: no result, want %d rows", tab, len(want[tab]))
			}
			continue
		}
		if r.Rows != int64(len(want[tab])) || r.Sent+r.Already+r.Skipped+r.Failed != r.Rows {
			t.Errorf("%s: rows %d (sent %d, skipped %d, failed %d), want %d", tab, r.Rows, r.Sent, r.Skipped, r.Failed, len(want[tab]))
		}
	}
	dest := fx.srv.Project(id)
	got := map[string]bool{}
	dest.EachTrace(func(tr *lftest.Trace) bool { got[tr.ID] = true; return true })
	wantTraces := map[string]bool{}
	for _, r := range want["traces"] {
		wantTraces[r.(*schema.Trace).ID] = true // ids are kept verbatim
	}
	for id := range got {
		if !wantTraces[id] {
			t.Errorf("the destination holds trace %s, which the filter does not select", id)
		}
	}
	if len(got) != len(wantTraces) {
		t.Errorf("destination has %d traces, want %d", len(got), len(wantTraces))
	}
	// The preflight's numbers are what the destination counts afterwards.
	pf := sum.Plan.Preflight
	c := dest.Counts()
	if pf.Units.Traces != int64(c.Traces) || pf.Units.Observations != int64(c.Observations) ||
		pf.Units.Scores != res["scores"].Sent+res["scores"].Skipped || int64(c.Scores) != res["scores"].Sent {
		t.Errorf("preflight units %+v; destination has %d traces, %d observations, %d scores (%d skipped before sending)",
			pf.Units, c.Traces, c.Observations, c.Scores, res["scores"].Skipped)
	}
}

// TestImportPartialLake: a lake exported without io is not imported as if
// it were complete.
func TestImportPartialLake(t *testing.T) {
	fx := newSelectFixture(t, lftest.V4, []string{"io"})
	_, pk, sk := fx.srv.AddProject("dest")
	o := importer.Options{Client: testClient(t, fx.srv, pk, sk), Lake: fx.lake, State: bucket.NewMemory(), DryRun: true}
	_, err := importer.Run(context.Background(), o)
	if !errors.Is(err, importer.ErrPartialLake) || !strings.Contains(err.Error(), "--allow-partial") || !strings.Contains(err.Error(), "io") {
		t.Fatalf("import of a partial lake: %v, want ErrPartialLake naming io and --allow-partial", err)
	}
	o.AllowPartial = true
	if _, err := importer.Run(context.Background(), o); err != nil {
		t.Fatalf("import with AllowPartial: %v", err)
	}
}

// TestImportPreflightRefusals: rows older than the destination's retention
// and a destination with data are refused before anything is sent, each
// naming its flag; a time filter that leaves old rows out passes.
func TestImportPreflightRefusals(t *testing.T) {
	fx := newSelectFixture(t, lftest.V4, nil)
	now := lftest.DefaultEnd.Add(time.Hour)
	days := 1
	p := lftest.NewProject("dest-retention", "retention")
	p.RetentionDays = &days
	_, pk, sk := fx.srv.AddGeneratedProject(p)
	ctx := context.Background()
	o := importer.Options{Client: testClient(t, fx.srv, pk, sk), Lake: fx.lake, State: bucket.NewMemory(), Now: func() time.Time { return now },
		Wait: 5 * time.Second, Poll: 50 * time.Millisecond}
	sum, err := importer.Run(ctx, o)
	if !errors.Is(err, importer.ErrPreflight) || !strings.Contains(err.Error(), "--yes-old-data") {
		t.Fatalf("import of old rows: %v, want ErrPreflight naming --yes-old-data", err)
	}
	cutoff := now.Add(-24 * time.Hour)
	var old int64
	for _, r := range fx.rows["observations"] {
		if r.(*schema.Observation).StartTime.Before(cutoff) {
			old++
		}
	}
	if pf := sum.Plan.Preflight; pf.RetentionDays != 1 || pf.Old["observations"] != old || old == 0 {
		t.Errorf("preflight: retention %d, %d old observations; want 1 and %d", pf.RetentionDays, pf.Old["observations"], old)
	}
	if c := p.Counts(); c.Observations+c.Scores+c.PromptVersions+c.ScoreConfigs != 0 {
		t.Fatalf("a refused import sent data: %+v", c)
	}
	// A time filter that leaves the old rows out.
	o.From = cutoff
	sum, err = importer.Run(ctx, o)
	if err != nil {
		t.Fatalf("import from the cutoff: %v", err)
	}
	if pf := sum.Plan.Preflight; pf.Old["traces"]+pf.Old["observations"]+pf.Old["scores"] != 0 {
		t.Errorf("old rows after a time filter: %v", pf.Old)
	}
	// The destination now holds data: a new import (fresh ledger) is refused.
	o.From, o.State = time.Time{}, bucket.NewMemory()
	o.YesOldData = true
	_, err = importer.Run(ctx, o)
	if !errors.Is(err, importer.ErrPreflight) || !strings.Contains(err.Error(), "--allow-non-empty") {
		t.Fatalf("import into a project with data: %v, want ErrPreflight naming --allow-non-empty", err)
	}
	o.DryRun, o.AllowNonEmpty = true, true
	if _, err := importer.Run(ctx, o); err != nil {
		t.Fatalf("dry run with --allow-non-empty: %v", err)
	}
}

// TestSelectCommands runs the flags end to end: a filtered export without
// io, `ls` showing both, import refusing the partial lake until
// --allow-partial, the preflight in the plan, and the lake's file modes.
func TestSelectCommands(t *testing.T) {
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddGeneratedProject(lftest.Generate(6, lftest.SizeSmall))
	_, dpk, dsk := srv.AddProject("dest")
	dir := t.TempDir() + "/lake"
	src := []string{"--public-key=" + pk, "--secret-key=" + sk, "--base-url=" + srv.URL()}
	dst := []string{"--public-key=" + dpk, "--secret-key=" + dsk, "--base-url=" + srv.URL()}
	code, out, errOut := run(t, append([]string{"export", dir, "--user-id=user-1,bob", "--level=ERROR,WARNING", "--fields=core,basic,time,model,usage,prompt,metrics"}, src...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "ls", dir)
	if code != 0 || !strings.Contains(out, "filter user_id=bob,user-1 level=ERROR,WARNING") || !strings.Contains(out, "without field groups io,metadata") {
		t.Errorf("ls does not show the selection (exit %d):\n%s", code, out)
	}
	code, out, _ = run(t, "ls", dir, "--json")
	if code != 0 || !strings.Contains(out, `"omitted_fields"`) || !strings.Contains(out, `"user_id"`) {
		t.Errorf("ls --json lacks the selection:\n%s", out)
	}
	code, out, errOut = run(t, append([]string{"import", dir, "--yes", "--wait=3s"}, dst...)...)
	if code == 0 || !strings.Contains(errOut, "--allow-partial") {
		t.Errorf("import of a partial lake: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, append([]string{"import", dir, "--yes", "--wait=3s", "--allow-partial"}, dst...)...)
	if code != 0 || !strings.Contains(out, "Preflight:") || !strings.Contains(out, "billable units (est.)") {
		t.Errorf("import --allow-partial: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, bad := range [][]string{{"--fields=core,io"}, {"--fields=core,basic,nope"}, {"--level=LOUD"}, {"--observation-type=span,blob"}} {
		if code, _, errOut := run(t, append(append([]string{"export", t.TempDir()}, bad...), src...)...); code != 2 {
			t.Errorf("export %v: exit %d, want 2\n%s", bad, code, errOut)
		}
	}
	checkPrivateModes(t, dir)
}

// TestExportSSEOnMinIO: every object an export with --sse aws:kms writes
// to MinIO (data, manifest, media) is stored encrypted with the key, and the
// lake reads back (ls, verify) without any flag.
func TestExportSSEOnMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Env(t)
	bkt := srv.NewBucket(t, "sse")
	loc := "s3://" + bkt + "/lake"
	flags := []string{"--s3-endpoint", srv.Endpoint(), "--s3-path-style"}
	lfs := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(lfs.Close)
	_, pk, sk := lfs.AddGeneratedProject(lftest.Generate(6, lftest.SizeSmall))
	args := append([]string{"export", loc, "--sse", "aws:kms", "--sse-kms-key-id", miniotest.KMSKeyID,
		"--public-key=" + pk, "--secret-key=" + sk, "--base-url=" + lfs.URL()}, flags...)
	if code, out, errOut := run(t, args...); code != 0 {
		t.Fatalf("export --sse: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx := context.Background()
	c := srv.Client()
	n := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bkt})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bkt, Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			if h.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || !strings.Contains(aws.ToString(h.SSEKMSKeyId), miniotest.KMSKeyID) {
				t.Errorf("%s: encryption %q key %q", aws.ToString(o.Key), h.ServerSideEncryption, aws.ToString(h.SSEKMSKeyId))
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d objects in the bucket", n)
	}
	if code, out, errOut := run(t, append([]string{"verify", loc}, flags...)...); code != 0 {
		t.Fatalf("verify an encrypted lake: exit %d\n%s\n%s", code, out, errOut)
	}
}
