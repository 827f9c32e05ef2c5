package langfuse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// traceServer serves total traces through GET /api/public/traces, pad bytes of input each.
func traceServer(t *testing.T, total, pad int, requests *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/api/public/traces" {
			http.NotFound(w, r)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if page < 1 || limit < 1 || limit > 100 {
			writeJSON(w, 400, map[string]any{"message": "bad page or limit"})
			return
		}
		var data []map[string]any
		for i := (page - 1) * limit; i < min(page*limit, total); i++ {
			data = append(data, map[string]any{"id": fmt.Sprintf("t-%05d", i), "timestamp": "2026-03-01T00:00:00Z",
				"tags": []string{}, "public": false, "environment": "default", "htmlPath": "/x", "input": strings.Repeat("x", pad)})
		}
		writeJSON(w, 200, pageBody(data, page, limit, total))
	})
}

func TestPagesAreStreamed(t *testing.T) {
	var requests atomic.Int32
	env := newTestClient(t, traceServer(t, 1050, 0, &requests))
	var totals []int
	var ids []string
	pages := 0
	err := env.c.ListTraces(context.Background(), TracesQuery{PageOptions: PageOptions{OnTotal: func(n int) {
		if pages != 0 {
			t.Error("OnTotal after the first page")
		}
		totals = append(totals, n)
	}}}, func(p []Trace) error {
		pages++
		// The next page is asked for only after this one was handed over.
		if int(requests.Load()) != pages {
			t.Errorf("page %d handed over after %d requests", pages, requests.Load())
		}
		for _, tr := range p {
			ids = append(ids, tr.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 11 || len(ids) != 1050 || ids[0] != "t-00000" || ids[1049] != "t-01049" {
		t.Errorf("%d pages, %d ids", pages, len(ids))
	}
	if len(totals) != 1 || totals[0] != 1050 {
		t.Errorf("OnTotal calls %v", totals)
	}
}

func TestPagesResumeAndStop(t *testing.T) {
	var requests atomic.Int32
	env := newTestClient(t, traceServer(t, 95, 0, &requests))
	var first []string
	err := env.c.ListTraces(context.Background(), TracesQuery{PageOptions: PageOptions{Limit: 10, Page: 4}}, func(p []Trace) error {
		first = append(first, p[0].ID)
		return nil
	})
	if err != nil || len(first) != 7 || first[0] != "t-00030" || first[6] != "t-00090" {
		t.Errorf("resume: %v %v", first, err)
	}

	stop := errors.New("enough")
	calls := 0
	err = env.c.ListTraces(context.Background(), TracesQuery{}, func([]Trace) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: %v after %d calls", err, calls)
	}

	before := requests.Load()
	err = env.c.ListTraces(context.Background(), TracesQuery{PageOptions: PageOptions{Limit: 101}}, func([]Trace) error { return nil })
	if !errors.Is(err, ErrBadRequest) || requests.Load() != before {
		t.Errorf("limit 101: %v, %d requests", err, requests.Load()-before)
	}
}

func TestPagesWithoutMeta(t *testing.T) {
	calls := 0
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		n := 2
		if calls == 3 {
			n = 1 // a short page ends the listing
		}
		data := make([]map[string]any, n)
		for i := range data {
			data[i] = map[string]any{"id": "c", "projectId": "p", "objectType": "TRACE", "objectId": "t", "content": "x"}
		}
		writeJSON(w, 200, map[string]any{"data": data, "meta": map[string]any{}})
	}))
	n := 0
	err := env.c.ListComments(context.Background(), CommentsQuery{PageOptions: PageOptions{Limit: 2}}, func(p []Comment) error {
		n += len(p)
		return nil
	})
	if err != nil || n != 5 || calls != 3 {
		t.Errorf("err %v, %d comments in %d calls", err, n, calls)
	}
}

// encodeCursor builds a cursor as Langfuse's v2 observations endpoint does.
func encodeCursor(start time.Time, traceID, id string) string {
	b, _ := json.Marshal(map[string]string{"lastStartTimeTo": start.UTC().Format("2006-01-02T15:04:05.000Z"), "lastTraceId": traceID, "lastId": id})
	return base64.StdEncoding.EncodeToString(b)
}

func TestCursorPages(t *testing.T) {
	const total = 2500
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	startOf := func(i int) time.Time { return base.Add(-time.Duration(i) * time.Second) } // newest first
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("fields") != strings.Join(ObservationV2FieldGroups, ",") || q.Get("limit") != "1000" {
			t.Errorf("query %s", r.URL.RawQuery)
		}
		from := 0
		if c := q.Get("cursor"); c != "" {
			cur, err := DecodeObservationsCursor(c)
			if err != nil {
				t.Errorf("cursor %q: %v", c, err)
			}
			from, _ = strconv.Atoi(strings.TrimPrefix(cur.LastID, "o-"))
			from++
		}
		var data []map[string]any
		for i := from; i < min(from+1000, total); i++ {
			data = append(data, map[string]any{"id": fmt.Sprintf("o-%d", i), "traceId": "t", "projectId": "p", "type": "SPAN",
				"startTime": startOf(i).Format(time.RFC3339Nano)})
		}
		meta := map[string]any{}
		if last := from + len(data) - 1; last < total-1 {
			meta["cursor"] = encodeCursor(startOf(last), "t", fmt.Sprintf("o-%d", last))
		}
		writeJSON(w, 200, map[string]any{"data": data, "meta": meta})
	}))
	var cursors []string
	n := 0
	err := env.c.ListObservationsV2(context.Background(), ObservationsV2Query{CursorOptions: CursorOptions{
		OnCursor: func(next string) { cursors = append(cursors, next) },
	}}, func(p []ObservationV2) error {
		n += len(p)
		return nil
	})
	if err != nil || n != total {
		t.Fatalf("err %v, %d observations", err, n)
	}
	if len(cursors) != 3 || cursors[2] != "" {
		t.Fatalf("cursors %q", cursors)
	}
	if cur, err := DecodeObservationsCursor(cursors[0]); err != nil || !cur.LastStartTimeTo.Equal(startOf(999)) || cur.LastID != "o-999" {
		t.Errorf("first cursor %+v %v", cur, err)
	}

	// Resume from the second page's cursor.
	n = 0
	err = env.c.ListObservationsV2(context.Background(), ObservationsV2Query{CursorOptions: CursorOptions{Cursor: cursors[1]}},
		func(p []ObservationV2) error { n += len(p); return nil })
	if err != nil || n != 500 {
		t.Errorf("resume: err %v, %d observations", err, n)
	}
}

func TestCursorThatDoesNotMoveFails(t *testing.T) {
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": []any{}, "meta": map[string]any{"cursor": "same"}})
	}))
	err := env.c.ListScoresV3(context.Background(), ScoresV3Query{}, func([]ScoreV3) error { return nil })
	if !errors.Is(err, ErrBadResponse) {
		t.Errorf("err = %v", err)
	}
}

func TestQueryParameters(t *testing.T) {
	var got []string
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		writeJSON(w, 200, map[string]any{"data": []any{}, "meta": map[string]any{}})
	}))
	ctx := context.Background()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	to := from.Add(24*time.Hour + 1500*time.Microsecond)
	root, empty := true, ""
	none := func(any) error { return nil }
	_ = env.c.ListObservationsV2(ctx, ObservationsV2Query{Fields: []string{"core"}, FromStartTime: from, ToStartTime: to,
		Environment: []string{"prod", "dev"}, ParentObservationID: &empty, IsRootObservation: &root, CursorOptions: CursorOptions{Limit: 10}},
		func(p []ObservationV2) error { return none(p) })
	_ = env.c.ListScoresV3(ctx, ScoresV3Query{TraceIDs: []string{"a", "b"}, FromTimestamp: from}, func(p []ScoreV3) error { return none(p) })
	_ = env.c.ListTraces(ctx, TracesQuery{OrderBy: "timestamp.asc", Tags: []string{"x", "y"}, Fields: []string{"core", "io"}},
		func(p []Trace) error { return none(p) })
	_ = env.c.ListPrompts(ctx, PromptsQuery{Label: "production"}, func(p []PromptMeta) error { return none(p) })
	_ = env.c.ListExperimentItems(ctx, ExperimentItemsQuery{FromStartTime: from}, func(p []ExperimentItem) error { return none(p) })
	_ = env.c.ListAnnotationQueueItems(ctx, "q/1", "PENDING", PageOptions{}, func(p []AnnotationQueueItem) error { return none(p) })
	want := []string{
		"/api/public/v2/observations?environment=prod&environment=dev&fields=core&fromStartTime=2026-02-28T23%3A00%3A00Z" +
			"&isRootObservation=true&limit=10&parentObservationId=&toStartTime=2026-03-01T23%3A00%3A00.0015Z",
		"/api/public/v3/scores?fields=details%2Csubject%2Cannotation&fromTimestamp=2026-02-28T23%3A00%3A00Z&limit=100&traceId=a%2Cb",
		"/api/public/traces?fields=core%2Cio&limit=100&orderBy=timestamp.asc&page=1&tags=x&tags=y",
		"/api/public/v2/prompts?label=production&limit=100&page=1",
		"/api/public/experiment-items?fields=core%2Cdataset%2Cio%2Cmetadata%2CitemMetadata%2CexperimentMetadata%2Cscores" +
			"&fromStartTime=2026-02-28T23%3A00%3A00Z&limit=100",
		"/api/public/annotation-queues/q%2F1/items?limit=100&page=1&status=PENDING",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := env.c.ListExperiments(ctx, ExperimentsQuery{}, func([]Experiment) error { return nil }); !errors.Is(err, ErrBadRequest) {
		t.Errorf("experiments without FromStartTime: %v", err)
	}
}

// TestMemoryStaysFlat lists 40 MB of traces in 400 pages and checks that the heap does not
// grow with the pages already handed over.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 40 MB")
	}
	var requests atomic.Int32
	env := newTestClient(t, traceServer(t, 400*100, 1000, &requests))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var at20, at400 uint64
	pages := 0
	err := env.c.ListTraces(context.Background(), TracesQuery{}, func(p []Trace) error {
		pages++
		switch pages {
		case 20:
			at20 = heap()
		case 400:
			at400 = heap()
		}
		return nil
	})
	if err != nil || pages != 400 {
		t.Fatalf("err %v after %d pages", err, pages)
	}
	// One page is about 100 KB; holding the pages would add 38 MB.
	if at400 > at20+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over 380 pages", at20, at400)
	}
	t.Logf("heap after 20 pages %d KB, after 400 pages %d KB", at20>>10, at400>>10)
}
