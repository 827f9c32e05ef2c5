package lfexport

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/schema"
)

// mostCommon returns the value that the most traces of the oracle carry in
// a column, so that a filter on it selects a real subset.
func mostCommon(x expected, val func(any) []string) string {
	n := map[string]int{}
	for _, tab := range []string{"traces", "observations", "scores"} {
		for _, r := range x[tab] {
			for _, v := range val(r) {
				n[v]++
			}
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

func vals(p *string) []string {
	if p == nil {
		return nil
	}
	return []string{*p}
}

// filterCases builds one filter per criterion from the oracle's data, and
// one combining two.
func filterCases(x expected) map[string]*selection.Filter {
	user := mostCommon(x, func(r any) []string {
		switch r := r.(type) {
		case *schema.Trace:
			return vals(r.UserID)
		}
		return nil
	})
	name := mostCommon(x, func(r any) []string {
		if r, ok := r.(*schema.Trace); ok {
			return vals(r.Name)
		}
		return nil
	})
	session := mostCommon(x, func(r any) []string {
		if r, ok := r.(*schema.Trace); ok {
			return vals(r.SessionID)
		}
		return nil
	})
	release := mostCommon(x, func(r any) []string {
		if r, ok := r.(*schema.Trace); ok {
			return vals(r.Release)
		}
		return nil
	})
	var tags []string
	for _, r := range x["traces"] {
		if tr := r.(*schema.Trace); len(tr.Tags) > 1 {
			tags = tr.Tags[:2]
			break
		}
	}
	env := mostCommon(x, func(r any) []string {
		if r, ok := r.(*schema.Trace); ok {
			return []string{r.Environment}
		}
		return nil
	})
	score := mostCommon(x, func(r any) []string {
		if r, ok := r.(*schema.Score); ok && r.TraceID != nil {
			return []string{r.Name}
		}
		return nil
	})
	return map[string]*selection.Filter{
		"trace_name":       {TraceNames: []string{name}},
		"user_id":          {UserIDs: []string{user, "no-such-user"}},
		"session_id":       {SessionIDs: []string{session}},
		"tags_any":         {TagsAny: tags},
		"tags_all":         {TagsAll: tags},
		"environment":      {Environments: []string{env}},
		"release":          {Releases: []string{release}},
		"observation_type": {ObservationTypes: []string{"GENERATION", "TOOL"}},
		"level":            {Levels: []string{"ERROR"}},
		"score_name":       {ScoreNames: []string{score}},
		"user_and_level":   {UserIDs: []string{user}, Levels: []string{"ERROR", "WARNING"}},
	}
}

// selectExpected applies a filter to the oracle with the in-memory
// reference (selection.SelectRows).
func selectExpected(x expected, f *selection.Filter) expected {
	rows := map[string][]any{}
	for tab, m := range x {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows[tab] = append(rows[tab], m[k])
		}
	}
	out := expected{}
	for tab, rs := range selection.SelectRows(f, rows) {
		t, _ := schema.Lookup(tab)
		for _, r := range rs {
			out.add(t, r)
		}
	}
	return out
}

// TestExportFilter exports with each filter and compares the lake with the
// full oracle filtered in memory: the server-side selection and the
// streaming filter against the reference.
func TestExportFilter(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(7, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			full := expectV4(p, true)
			if mode == lftest.V3 {
				full = expectV3(p, true)
			}
			for name, f := range filterCases(full) {
				t.Run(name, func(t *testing.T) {
					want := selectExpected(full, f)
					if n := len(want["traces"]); n == 0 || n == len(full["traces"]) {
						t.Fatalf("filter %s selects %d of %d traces: not a test", f, n, len(full["traces"]))
					}
					b := bucket.NewMemory()
					res := export(t, b, Options{Client: client(t, s, k), Filter: f})
					got := readLake(t, b)
					if mode == lftest.V4 {
						// v4 sessions are derived from the observations
						// exported: compare which, not their first time.
						for k := range want["sessions"] {
							if g, ok := got["sessions"][k]; ok {
								want["sessions"][k] = g
							}
						}
					}
					compareLake(t, got, want)
					sel := res.Manifest.Selection
					if sel == nil || len(sel.Filter) == 0 {
						t.Fatalf("manifest records no filter: %+v", sel)
					}
					back, err := selection.FromMap(sel.Filter)
					if err != nil || back.String() != f.String() {
						t.Errorf("manifest filter %v (%v), want %s", sel.Filter, err, f)
					}
					t.Logf("%s: %d of %d traces, %d of %d observations", f, len(want["traces"]), len(full["traces"]),
						len(want["observations"]), len(full["observations"]))
				})
			}
		})
	}
}

// TestExportFields leaves groups out: their columns are null in every row,
// the other columns are as in a full export, and the manifest says so.
func TestExportFields(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(7, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			full := expectV4(p, true)
			if mode == lftest.V3 {
				full = expectV3(p, true)
			}
			for _, omit := range [][]string{{"io", "metadata"}, {"time", "model", "usage", "prompt", "metrics"}, {"metadata"}} {
				t.Run(omit[0], func(t *testing.T) {
					b := bucket.NewMemory()
					rec := &recorder{next: http.DefaultTransport}
					c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: k.PublicKey, SecretKey: k.SecretKey,
						HTTPClient: &http.Client{Transport: rec}})
					if err != nil {
						t.Fatal(err)
					}
					res := export(t, b, Options{Client: c, OmitFields: omit})
					want := expected{}
					blank := selection.NewBlanker(omit)
					for tab, rows := range full {
						tt, _ := schema.Lookup(tab)
						for _, r := range rows {
							switch r := r.(type) {
							case *schema.Observation:
								c := *r
								blank.Observation(&c)
								want.add(tt, &c)
							case *schema.Trace:
								c := *r
								blank.Trace(&c)
								want.add(tt, &c)
							case *schema.MediaReference:
								if r.Field != nil && ((blank.Omits("io") && (*r.Field == "input" || *r.Field == "output")) ||
									(blank.Omits("metadata") && *r.Field == "metadata")) && r.DatasetItemID == nil {
									continue // media of a field left out are not exported
								}
								want.add(tt, r)
							default:
								want.add(tt, r)
							}
						}
					}
					compareLake(t, readLake(t, b), want)
					if got := res.Manifest.Selection; got == nil || len(got.OmittedFields) != len(omit) {
						t.Errorf("manifest selection %+v, want omitted %v", got, omit)
					}
					l, err := hive.Open(context.Background(), b)
					if err != nil {
						t.Fatal(err)
					}
					if got := l.OmittedFields(k.ProjectID); len(got) != len(omit) {
						t.Errorf("lake omits %v, want %v", got, omit)
					}
					if mode == lftest.V4 {
						checkFieldsRequested(t, rec.fields(), omit)
					}
				})
			}
		})
	}
}

// recorder notes the fields parameter of v2 observation listings.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/api/public/v2/observations" && req.URL.Query().Get("limit") != "1" {
		r.mu.Lock()
		r.seen = append(r.seen, req.URL.Query().Get("fields"))
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) fields() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// checkFieldsRequested: the listings ask the server only for the groups
// kept (io stays when metadata is kept, since the server truncates
// metadata without it), so what is left out never leaves the server.
func checkFieldsRequested(t *testing.T, seen []string, omit []string) {
	t.Helper()
	if len(seen) == 0 {
		t.Fatal("no v2 observation listing seen")
	}
	for _, f := range seen {
		groups := strings.Split(f, ",")
		for _, g := range omit {
			if slices.Contains(groups, g) && !(g == "io" && !slices.Contains(omit, "metadata")) {
				t.Errorf("fields=%s requests %s, which is left out", f, g)
			}
		}
		for _, g := range []string{"core", "basic", "trace_context"} {
			if !slices.Contains(groups, g) {
				t.Errorf("fields=%s lacks %s", f, g)
			}
		}
	}
}

// A filtered export that fails after the selection resumes with the
// selection of its checkpoint and ends with the filtered lake; another
// filter does not resume it.
func TestExportFilterResume(t *testing.T) {
	p := lftest.Generate(7, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	full := expectV4(p, true)
	f := &selection.Filter{UserIDs: []string{"user-1"}}
	b := bucket.NewMemory()
	s.SetFaults(lftest.Faults{Rates: map[lftest.FaultKind]float64{lftest.Fault500: 1}, Match: func(r *http.Request) bool {
		return r.URL.Path == "/api/public/v3/scores" && r.URL.Query().Get("limit") != "1"
	}})
	c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: k.PublicKey, SecretKey: k.SecretKey, MaxRetries: 1,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), b, Options{Client: c, Filter: f, Now: fixedNow}); err == nil {
		t.Fatal("the export did not fail")
	}
	s.SetFaults(lftest.Faults{})
	res := export(t, b, Options{Client: client(t, s, k), Filter: &selection.Filter{UserIDs: []string{"user-1"}}})
	if res.Resumed == "" {
		t.Error("the rerun did not resume the checkpoint")
	}
	want := selectExpected(full, f)
	got := readLake(t, b)
	for k := range want["sessions"] {
		if g, ok := got["sessions"][k]; ok {
			want["sessions"][k] = g
		}
	}
	compareLake(t, got, want)

	// Another filter abandons a checkpoint of this one.
	b2 := bucket.NewMemory()
	s.SetFaults(lftest.Faults{Rates: map[lftest.FaultKind]float64{lftest.Fault500: 1}, Match: func(r *http.Request) bool {
		return r.URL.Path == "/api/public/v3/scores" && r.URL.Query().Get("limit") != "1"
	}})
	_, _ = Export(context.Background(), b2, Options{Client: c, Filter: f, Now: fixedNow})
	s.SetFaults(lftest.Faults{})
	if res := export(t, b2, Options{Client: client(t, s, k), Filter: &selection.Filter{UserIDs: []string{"bob"}}}); res.Resumed != "" {
		t.Error("an export with another filter resumed the checkpoint")
	}
}

// With a filter, tables exported without traces and observations still get
// the rows of the selected traces (their observations and sessions are
// learnt from rows read but not written).
func TestExportFilterTablesSubset(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(7, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			full := expectV4(p, true)
			if mode == lftest.V3 {
				full = expectV3(p, true)
			}
			f := &selection.Filter{Levels: []string{"ERROR", "WARNING"}}
			tables := []string{"scores", "comments", "sessions", "annotation_queue_items"}
			b := bucket.NewMemory()
			export(t, b, Options{Client: client(t, s, k), Filter: f, Tables: tables})
			all := selectExpected(full, f)
			want := expected{}
			for _, tab := range tables {
				want[tab] = all[tab]
				if len(want[tab]) == 0 {
					t.Errorf("the selection has no %s: not a test", tab)
				}
			}
			got := readLake(t, b)
			for k := range want["sessions"] {
				if g, ok := got["sessions"][k]; ok {
					want["sessions"][k] = g
				}
			}
			compareLake(t, got, want)
		})
	}
}
