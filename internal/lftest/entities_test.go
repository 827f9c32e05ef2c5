package lftest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

func TestTracesV3(t *testing.T) {
	p, c := serve(t, lftest.V3)
	var all []*lftest.Trace
	p.EachTrace(func(tr *lftest.Trace) bool { all = append(all, tr); return true })
	allIDs := make([]string, len(all))
	for i, tr := range all {
		allIDs[i] = tr.ID
	}
	rows := walkPages(t, c, "/api/public/traces", nil, 7)
	assertOnce(t, "traces", ids(rows), allIDs)
	if !slices.Equal(ids(rows), allIDs) {
		t.Error("default order is not timestamp DESC")
	}

	mid := all[len(all)/2]
	at := mid.Timestamp.Format(iso)
	count := func(keep func(*lftest.Trace) bool) []string {
		var out []string
		for _, tr := range all {
			if keep(tr) {
				out = append(out, tr.ID)
			}
		}
		return out
	}
	for name, tc := range map[string]struct {
		q    url.Values
		keep func(*lftest.Trace) bool
	}{
		"from inclusive": {vals("fromTimestamp", at), func(tr *lftest.Trace) bool { return !tr.Timestamp.Before(mid.Timestamp) }},
		"to exclusive":   {vals("toTimestamp", at), func(tr *lftest.Trace) bool { return tr.Timestamp.Before(mid.Timestamp) }},
		"tags all of": {vals("tags", "prod", "tags", "rag"), func(tr *lftest.Trace) bool {
			return slices.Contains(tr.Tags, "prod") && slices.Contains(tr.Tags, "rag")
		}},
		"environment": {vals("environment", "production"), func(tr *lftest.Trace) bool { return tr.Environment == "production" }},
		"session":     {vals("sessionId", "chat/セッション-1"), func(tr *lftest.Trace) bool { return tr.SessionID != nil && *tr.SessionID == "chat/セッション-1" }},
	} {
		t.Run(name, func(t *testing.T) {
			want := count(tc.keep)
			if len(want) == 0 {
				t.Fatalf("%v matches no trace", tc.q)
			}
			assertOnce(t, name, ids(walkPages(t, c, "/api/public/traces", tc.q, 10)), want)
		})
	}

	asc := data(c.get("/api/public/traces", vals("orderBy", "timestamp.asc", "limit", "100"), http.StatusOK))
	for i := 1; i < len(asc); i++ {
		if asc[i-1]["timestamp"].(string) > asc[i]["timestamp"].(string) {
			t.Fatalf("orderBy=timestamp.asc: %v before %v", asc[i-1]["timestamp"], asc[i]["timestamp"])
		}
	}
	c.get("/api/public/traces", vals("orderBy", "cost.sideways"), http.StatusBadRequest)
	c.get("/api/public/traces", vals("limit", "101"), http.StatusBadRequest)
	c.get("/api/public/traces", vals("page", "0"), http.StatusBadRequest)

	core := data(c.get("/api/public/traces", vals("fields", "core", "limit", "3"), http.StatusOK))[0]
	if _, has := core["input"]; has || core["latency"] != -1.0 || core["totalCost"] != -1.0 || len(core["observations"].([]any)) != 0 {
		t.Errorf("fields=core: %v", core)
	}
	full := c.get("/api/public/traces/"+mid.ID, nil, http.StatusOK)
	if n := len(full["observations"].([]any)); n != len(p.TraceObservations(mid.ID)) {
		t.Errorf("trace details: %d observations, want %d", n, len(p.TraceObservations(mid.ID)))
	}
	for _, s := range full["scores"].([]any) {
		if s.(map[string]any)["dataType"] == "CORRECTION" {
			t.Error("ScoreV1 has no CORRECTION variant")
		}
	}
	c.get("/api/public/traces/nope", nil, http.StatusNotFound)
}

func TestSessionsV3(t *testing.T) {
	p, c := serve(t, lftest.V3)
	var want []string
	for _, s := range p.Sessions() {
		want = append(want, s.ID)
	}
	assertOnce(t, "sessions", ids(walkPages(t, c, "/api/public/sessions", nil, 3)), want)
	s := c.get("/api/public/sessions/"+url.PathEscape("chat/セッション-1"), nil, http.StatusOK)
	traces := s["traces"].([]any)
	if len(traces) == 0 {
		t.Fatal("session has no traces")
	}
	for _, tr := range traces {
		if tr.(map[string]any)["sessionId"] != "chat/セッション-1" {
			t.Errorf("trace of another session: %v", tr.(map[string]any)["sessionId"])
		}
	}
	c.get("/api/public/sessions/nope", nil, http.StatusNotFound)
}

func TestScores(t *testing.T) {
	p := smallProject()
	var want []string
	types := map[string]bool{}
	for _, s := range p.Scores() {
		want = append(want, s.ID)
		types[s.DataType] = true
	}
	for _, dt := range lftest.ScoreDataTypes {
		if !types[dt] {
			t.Errorf("generated project has no %s score", dt)
		}
	}
	t.Run("v2", func(t *testing.T) {
		s, k := serveProject(t, lftest.V3, p)
		c := newClient(t, s, k)
		rows := walkPages(t, c, "/api/public/v2/scores", nil, 30)
		assertOnce(t, "v2 scores", ids(rows), want)
		for _, r := range rows {
			if r["dataType"] == "CATEGORICAL" && (r["stringValue"] == nil || r["value"] == nil) {
				t.Errorf("v2 categorical keeps value and stringValue: %v", r)
			}
		}
		for _, dt := range lftest.ScoreDataTypes {
			for _, r := range data(c.get("/api/public/v2/scores", vals("dataType", dt, "limit", "100"), http.StatusOK)) {
				if r["dataType"] != dt {
					t.Errorf("dataType=%s returned %v", dt, r["dataType"])
				}
			}
		}
		c.get("/api/public/v2/scores/"+want[0], nil, http.StatusOK)
		// The undocumented v1 list: trace scores only (not in the spec, so
		// asked of a server without validation).
		v1 := unvalidated(t, lftest.V3, p).get("/api/public/scores", vals("limit", "100"), http.StatusOK)
		for _, r := range data(v1) {
			if r["traceId"] == nil || r["dataType"] == "CORRECTION" {
				t.Errorf("v1 score %v", r)
			}
		}
	})
	t.Run("v3", func(t *testing.T) {
		s, k := serveProject(t, lftest.V4, p)
		c := newClient(t, s, k)
		rows := walkCursor(t, c, "/api/public/v3/scores", vals("limit", "13"))
		assertOnce(t, "v3 scores", ids(rows), want)
		for i := 1; i < len(rows); i++ {
			if rows[i-1]["timestamp"].(string) < rows[i]["timestamp"].(string) {
				t.Fatal("v3 scores are not newest first")
			}
		}
		for _, r := range rows {
			_, isNum := r["value"].(float64)
			_, isBool := r["value"].(bool)
			_, isStr := r["value"].(string)
			if (r["dataType"] == "NUMERIC") != isNum || (r["dataType"] == "BOOLEAN") != isBool || !(isNum || isBool || isStr) {
				t.Errorf("polymorphic value %T for %v", r["value"], r["dataType"])
			}
			if _, has := r["subject"]; has {
				t.Error("subject without fields=subject")
			}
		}
		full := data(c.get("/api/public/v3/scores", vals("fields", "details,subject,annotation", "limit", "100"), http.StatusOK))
		kinds := map[string]bool{}
		for _, r := range full {
			kinds[r["subject"].(map[string]any)["kind"].(string)] = true
			for _, k := range []string{"comment", "configId", "metadata", "authorUserId", "queueId"} {
				if _, has := r[k]; !has {
					t.Fatalf("field %s missing with all groups", k)
				}
			}
		}
		for _, k := range []string{"trace", "observation", "session", "experiment"} {
			if !kinds[k] {
				t.Errorf("no score with subject kind %s", k)
			}
		}
		num := data(c.get("/api/public/v3/scores", vals("dataType", "numeric", "valueMin", "0.5", "limit", "100"), http.StatusOK))
		for _, r := range num {
			if r["dataType"] != "NUMERIC" || r["value"].(float64) < 0.5 {
				t.Errorf("valueMin filter returned %v", r)
			}
		}
		for _, q := range []url.Values{vals("limit", "101"), vals("fields", "trace"), vals("observationId", "x"),
			vals("valueMin", "1"), vals("sessionId", "s", "traceId", "t"), vals("cursor", "%%%")} {
			c.get("/api/public/v3/scores", q, http.StatusBadRequest)
		}
	})
}

func TestPrompts(t *testing.T) {
	_, c := serve(t, lftest.V4)
	list := c.get("/api/public/v2/prompts", nil, http.StatusOK)
	if m := meta(list); num(m["limit"]) != 10 || num(m["totalItems"]) != 5 {
		t.Errorf("prompt list meta %v, want default limit 10 and 5 prompts", m)
	}
	c.get("/api/public/v2/prompts", vals("limit", "101"), http.StatusBadRequest)
	staging := data(c.get("/api/public/v2/prompts", vals("label", "staging"), http.StatusOK))
	if len(staging) != 1 || staging[0]["name"] != "qa-bot" || len(staging[0]["versions"].([]any)) != 1 {
		t.Errorf("label=staging: %v", staging)
	}

	get := func(name string, q url.Values, want int) map[string]any {
		return c.get("/api/public/v2/prompts/"+url.PathEscape(name), q, want)
	}
	chat := get("folder/sub/prompt", nil, http.StatusOK)
	msgs := chat["prompt"].([]any)
	if chat["type"] != "chat" || num(chat["version"]) != 2 || len(msgs) != 3 {
		t.Fatalf("chat prompt %v", chat)
	}
	if ph := msgs[1].(map[string]any); ph["type"] != "placeholder" || ph["name"] != "history" {
		t.Errorf("placeholder %v", ph)
	}
	if content := msgs[0].(map[string]any)["content"].(string); strings.Contains(content, "@@@langfusePrompt") || chat["resolutionGraph"] == nil {
		t.Errorf("dependency not resolved: %q", content)
	}
	raw := get("folder/sub/prompt", vals("resolve", "false"), http.StatusOK)
	if content := raw["prompt"].([]any)[0].(map[string]any)["content"].(string); !strings.Contains(content, "@@@langfusePrompt:name=shared/system-preamble|label=production@@@") {
		t.Errorf("resolve=false changed the prompt: %q", content)
	}
	if v1 := get("summariser", vals("version", "1", "resolve", "false"), http.StatusOK); !strings.HasPrefix(v1["prompt"].(string), "@@@langfusePrompt:name=shared/system-preamble|version=1@@@") {
		t.Errorf("summariser v1: %v", v1["prompt"])
	}
	if ja := get("ja/挨拶", nil, http.StatusOK); ja["prompt"] != "こんにちは {{name}} さん 🎌" {
		t.Errorf("ja prompt %v", ja["prompt"])
	}
	if qa := get("qa-bot", vals("label", "staging"), http.StatusOK); num(qa["version"]) != 2 || qa["commitMessage"] != "shorter answers" {
		t.Errorf("qa-bot staging %v", qa)
	}
	nf := get("qa-bot", vals("label", "nope"), http.StatusNotFound)
	if nf["message"] != "Prompt not found: 'qa-bot' with label 'nope'" {
		t.Errorf("404 message %v", nf["message"])
	}
	get("qa-bot", vals("label", "staging", "version", "2"), http.StatusBadRequest)
}

func TestDatasetsAndRuns(t *testing.T) {
	p := smallProject()
	s, k := serveProject(t, lftest.V3, p)
	c := newClient(t, s, k)
	if m := meta(c.get("/api/public/v2/datasets", nil, http.StatusOK)); num(m["totalItems"]) != 3 {
		t.Errorf("datasets meta %v", m)
	}
	ds := c.get("/api/public/v2/datasets/"+url.PathEscape("qa/golden-set"), nil, http.StatusOK)
	c.get("/api/public/v2/datasets/nope", nil, http.StatusNotFound)
	items := walkPages(t, c, "/api/public/dataset-items", vals("datasetName", "qa/golden-set"), 5)
	statuses := map[string]int{}
	withMedia := 0
	for _, it := range items {
		statuses[it["status"].(string)]++
		for _, ref := range it["mediaReferences"].([]any) {
			withMedia++
			media := ref.(map[string]any)["media"].(map[string]any)
			resp, err := http.Get(media["url"].(string))
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("media reference URL: %v %v", resp, err)
			}
			resp.Body.Close()
		}
	}
	if len(items) != 12 || statuses["ARCHIVED"] == 0 || withMedia == 0 {
		t.Errorf("items %d, statuses %v, media references %d", len(items), statuses, withMedia)
	}
	c.get("/api/public/dataset-items", vals("datasetName", "nope"), http.StatusNotFound)
	c.get("/api/public/dataset-items", vals("version", "2026-03-01T00:00:00Z"), http.StatusBadRequest)
	c.get("/api/public/dataset-items/"+items[0]["id"].(string), nil, http.StatusOK)

	runs := walkPages(t, c, "/api/public/datasets/"+url.PathEscape("qa/golden-set")+"/runs", nil, 1)
	if len(runs) != 2 {
		t.Fatalf("runs %d, want 2", len(runs))
	}
	for _, r := range runs {
		name := r["name"].(string)
		run := c.get("/api/public/datasets/"+url.PathEscape("qa/golden-set")+"/runs/"+url.PathEscape(name), nil, http.StatusOK)
		ri := run["datasetRunItems"].([]any)
		paged := walkPages(t, c, "/api/public/dataset-run-items", vals("datasetId", ds["id"].(string), "runName", name), 2)
		if len(ri) == 0 || len(paged) != len(ri) {
			t.Errorf("run %q: %d items, %d paged", name, len(ri), len(paged))
		}
		for _, it := range paged {
			if p.Trace(it["traceId"].(string)) == nil {
				t.Errorf("run item links missing trace %v", it["traceId"])
			}
		}
	}
	c.get("/api/public/datasets/"+url.PathEscape("qa/golden-set")+"/runs/nope", nil, http.StatusNotFound)
}

// TestRequestsTheSpecForbids checks the server's answers to requests that
// break the spec, so it runs without a validator.
func TestRequestsTheSpecForbids(t *testing.T) {
	for _, tc := range []struct {
		mode lftest.Mode
		path string
		q    url.Values
		want string
	}{
		{lftest.V3, "/api/public/dataset-run-items", vals("datasetId", "d"), `"path":["runName"]`},
		{lftest.V4, "/api/public/experiments", nil, `"path":["fromStartTime"]`},
		{lftest.V4, "/api/public/experiment-items", vals("fromStartTime", "soon"), "Invalid datetime"},
		{lftest.V4, "/api/public/models", vals("limit", "many"), "Expected number, received nan"},
	} {
		r := unvalidated(t, tc.mode, smallProject()).do(tc.path, tc.q, true)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.want) || !strings.Contains(string(r.body), "Invalid request data") {
			t.Errorf("%s?%s: %d %s, want 400 with %s", tc.path, tc.q.Encode(), r.status, r.body, tc.want)
		}
	}
}

func TestExperiments(t *testing.T) {
	p := smallProject()
	s, k := serveProject(t, lftest.V4, p)
	c := newClient(t, s, k)
	from := vals("fromStartTime", "2020-01-01T00:00:00Z")
	exps := walkCursor(t, c, "/api/public/experiments", withLimit(from, 1))
	var runIDs []string
	for _, r := range p.DatasetRuns() {
		runIDs = append(runIDs, r.ID)
	}
	assertOnce(t, "experiments", ids(exps), runIDs)
	items := walkCursor(t, c, "/api/public/experiment-items", withLimit(vals("fromStartTime", "2020-01-01T00:00:00Z",
		"fields", "core,dataset,io,metadata,itemMetadata,experimentMetadata,scores"), 4))
	if len(items) != len(p.DatasetRunItems()) {
		t.Errorf("experiment items %d, run items %d", len(items), len(p.DatasetRunItems()))
	}
	for _, it := range items {
		if _, ok := it["input"].(string); !ok && it["input"] != nil {
			t.Errorf("experiment item input %T, want the stored string", it["input"])
		}
	}
	total := 0
	for _, e := range exps {
		total += num(e["itemCount"])
	}
	if total != len(items) {
		t.Errorf("itemCount sum %d, items %d", total, len(items))
	}
	late := data(c.get("/api/public/experiments", vals("fromStartTime", time.Now().Add(24*time.Hour*365*5).Format(iso)), http.StatusOK))
	if len(late) != 0 {
		t.Errorf("experiments from the future: %d", len(late))
	}
	r := c.do("/api/public/experiments", vals("limit", "101", "fromStartTime", "2020-01-01T00:00:00Z"), true)
	if r.status != http.StatusBadRequest {
		t.Errorf("limit 101: %d", r.status)
	}
}

func withLimit(q url.Values, n int) url.Values {
	q.Set("limit", itoa(n))
	return q
}

func TestConfigModelsCommentsQueuesProjects(t *testing.T) {
	p, c := serve(t, lftest.V4)
	cfgs := walkPages(t, c, "/api/public/score-configs", nil, 2)
	archived := 0
	for _, cf := range cfgs {
		if cf["isArchived"] == true {
			archived++
		}
	}
	if len(cfgs) != len(p.ScoreConfigs()) || archived == 0 {
		t.Errorf("score configs %d, archived %d", len(cfgs), archived)
	}
	c.get("/api/public/score-configs/"+cfgs[0]["id"].(string), nil, http.StatusOK)

	models := walkPages(t, c, "/api/public/models", nil, 2)
	managed, tiers := 0, 0
	for _, m := range models {
		if m["isLangfuseManaged"] == true {
			managed++
		}
		tiers += len(m["pricingTiers"].([]any))
	}
	if managed == 0 || managed == len(models) || tiers <= len(models) {
		t.Errorf("models %d, managed %d, pricing tiers %d", len(models), managed, tiers)
	}
	c.get("/api/public/models/"+models[0]["id"].(string), nil, http.StatusOK)

	comments := walkPages(t, c, "/api/public/comments", nil, 3)
	objTypes := map[string]bool{}
	for _, cm := range comments {
		objTypes[cm["objectType"].(string)] = true
	}
	if len(objTypes) != 4 {
		t.Errorf("comment object types %v, want all four", objTypes)
	}
	one := data(c.get("/api/public/comments", vals("objectType", "PROMPT"), http.StatusOK))
	if len(one) != 1 {
		t.Errorf("PROMPT comments %d", len(one))
	}
	c.get("/api/public/comments", vals("objectId", "x"), http.StatusBadRequest)
	c.get("/api/public/comments/"+comments[0]["id"].(string), nil, http.StatusOK)

	queues := walkPages(t, c, "/api/public/annotation-queues", nil, 1)
	if len(queues) != 2 {
		t.Fatalf("queues %d", len(queues))
	}
	for _, q := range queues {
		base := "/api/public/annotation-queues/" + q["id"].(string)
		c.get(base, nil, http.StatusOK)
		all := walkPages(t, c, base+"/items", nil, 2)
		done := walkPages(t, c, base+"/items", vals("status", "COMPLETED"), 2)
		for _, it := range done {
			if it["completedAt"] == nil {
				t.Errorf("completed item without completedAt: %v", it)
			}
		}
		if len(all) == 0 || len(done) == 0 || len(done) == len(all) {
			t.Errorf("queue %v: %d items, %d completed", q["name"], len(all), len(done))
		}
		c.get(base+"/items/"+all[0]["id"].(string), nil, http.StatusOK)
	}
	c.get("/api/public/annotation-queues/nope", nil, http.StatusNotFound)

	projects := data(c.get("/api/public/projects", nil, http.StatusOK))
	if len(projects) != 1 || projects[0]["id"] != p.ID {
		t.Errorf("projects %v", projects)
	}
}
