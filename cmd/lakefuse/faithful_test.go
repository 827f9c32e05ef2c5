package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// addScoresOnConfigs adds to project A a score on its archived config and
// one above its config's maximum (the config was tightened after it).
func addScoresOnConfigs(t *testing.T, rt *roundTrip) (archivedScore, aboveMax string) {
	t.Helper()
	p := rt.srv.Project(rt.aID)
	var old, quality *lftest.ScoreConfig
	for _, c := range p.ScoreConfigs() {
		switch c.Name {
		case "old-metric":
			old = c
		case "quality":
			quality = c
		}
	}
	if old == nil || !old.IsArchived || quality == nil || quality.MaxValue == nil {
		t.Fatal("the generated project has no archived config old-metric or no bounded config quality")
	}
	var traceID string
	p.EachTrace(func(tr *lftest.Trace) bool { traceID = tr.ID; return false })
	at := lftest.DefaultEnd.Add(-2 * time.Hour)
	mk := func(id string, cfg *lftest.ScoreConfig, v float64) *lftest.Score {
		return &lftest.Score{ID: id, Name: cfg.Name, DataType: lftest.DataNumeric, Value: v, Source: lftest.SourceAPI, Timestamp: at,
			CreatedAt: at, UpdatedAt: at, TraceID: &traceID, ConfigID: &cfg.ID, Environment: "default", Metadata: lftest.NullPayload()}
	}
	p.AddScores(mk("score-on-archived-config", old, 7), mk("score-above-max", quality, *quality.MaxValue+1))
	return "score-on-archived-config", "score-above-max"
}

// TestImportScoresOnArchivedConfigs: a score whose config is archived in
// the source arrives (the config is archived only after the scores step);
// scores Langfuse's worker would drop are skipped with the reason, not
// counted as sent.
func TestImportScoresOnArchivedConfigs(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	archived, above := addScoresOnConfigs(t, rt)
	code, out, errOut := run(t, rt.migrateArgs()...)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	got := map[string]bool{}
	for _, s := range rt.srv.Project(rt.bID).Scores() {
		got[s.ID] = true
	}
	if !got[archived] {
		t.Errorf("the score on the archived config is not in the destination\n%s", out)
	}
	if got[above] {
		t.Errorf("the score above its config's maximum is in the destination")
	}
	for _, c := range rt.srv.Project(rt.bID).ScoreConfigs() {
		if c.Name == "old-metric" && !c.IsArchived {
			t.Errorf("config old-metric is not archived in the destination")
		}
	}
	for _, want := range []string{"score " + above + " not imported: value", "above the maximum",
		"an ANNOTATION score without a score config"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary does not say %q:\n%s", want, out)
		}
	}
}

// dropScores is a proxy in front of the destination that answers success
// for the score-create events of the given score ids without passing them
// on, as Langfuse's worker does with scores it refuses after the 207.
func dropScores(t *testing.T, target string, ids ...string) string {
	t.Helper()
	u, _ := url.Parse(target)
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/public/ingestion" {
			var req struct {
				Batch []map[string]any `json:"batch"`
			}
			if json.Unmarshal(body, &req) == nil {
				kept := req.Batch[:0]
				for _, ev := range req.Batch {
					if b, _ := ev["body"].(map[string]any); b != nil && drop[b["id"].(string)] {
						continue
					}
					kept = append(kept, ev)
				}
				body, _ = json.Marshal(map[string]any{"batch": kept})
			}
		}
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String()+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestImportReadBack: a score the destination answered for and never kept
// makes the import fail, naming the table, the count and the id.
func TestImportReadBack(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	archived, _ := addScoresOnConfigs(t, rt)
	proxy := dropScores(t, rt.srv.URL(), archived)
	args := rt.migrateArgs()
	for i, a := range args {
		if a == "--dest-host="+rt.srv.URL() {
			args[i] = "--dest-host=" + proxy
		}
		if a == "--wait=3s" {
			args[i] = "--wait=1s"
		}
	}
	code, out, errOut := run(t, args...)
	if code == 0 {
		t.Fatalf("migrate succeeded though the destination lacks a score\n%s", out)
	}
	if want := "scores: 1 of "; !strings.Contains(out+errOut, want) || !strings.Contains(out+errOut, archived) {
		t.Fatalf("the import does not name the missing score (%q, %s)\n%s\n%s", want, archived, out, errOut)
	}
}

// TestImportModelsPromptsVerify: a custom model without a unit arrives with
// unit TOKENS (Langfuse requires one); a prompt with a deleted version gets
// a placeholder that verify --against-destination does not count; with
// --on-prompt-conflict=append, version references follow the new numbers.
func TestImportModelsPromptsVerify(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	a, b := rt.srv.Project(rt.aID), rt.srv.Project(rt.bID)
	at := lftest.DefaultEnd.Add(-time.Hour)
	a.AddModel(&lftest.Model{ID: "m-no-unit", ModelName: "legacy-ft", MatchPattern: "(?i)^legacy-ft$", CreatedAt: at, TokenizerConfig: lftest.NullPayload()})
	pv := func(name string, v int, text string) *lftest.PromptVersion {
		return &lftest.PromptVersion{ID: name + "-" + strconv.Itoa(v), Name: name, Version: v, Type: "text", Text: text, Labels: []string{},
			Tags: []string{}, Config: lftest.JSONPayload("{}"), CreatedAt: at, UpdatedAt: at, CreatedBy: "API"}
	}
	a.AddPromptVersion(pv("gappy", 1, "one"))
	gappy3 := pv("gappy", 3, "three")
	gappy3.Labels = []string{"latest"} // Langfuse labels the newest version latest
	a.AddPromptVersion(gappy3)
	a.AddPromptVersion(pv("base", 1, "base one"))
	base2 := pv("base", 2, "base two")
	base2.Labels = []string{"production", "latest"}
	a.AddPromptVersion(base2)
	user := pv("user", 1, "Start. @@@langfusePrompt:name=base|version=2@@@ @@@langfusePrompt:name=base|label=production@@@")
	user.Labels = []string{"latest"}
	a.AddPromptVersion(user)
	b.AddPromptVersion(pv("base", 1, "the destination's own base"))
	code, out, errOut := run(t, append(rt.migrateArgs(), "--on-prompt-conflict=append")...)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	var unit string
	for _, m := range b.Models() {
		if m.ModelName == "legacy-ft" && m.Unit != nil {
			unit = *m.Unit
		}
	}
	if unit != "TOKENS" {
		t.Errorf("model legacy-ft has unit %q in the destination, want TOKENS", unit)
	}
	for _, v := range b.Prompts() {
		if v.Name == "user" && !strings.Contains(v.Text, "name=base|version=3@@@") {
			t.Errorf("prompt user still points at the lake's version: %q", v.Text)
		}
	}
	keys := []string{"--public-key=" + rt.bKeys[0], "--secret-key=" + rt.bKeys[1], "--base-url=" + rt.srv.URL()}
	_, out, errOut = run(t, append([]string{"verify", rt.lakeA, "--against-destination", "--tables=models,prompts"}, keys...)...)
	// base was appended after the destination's own version, and user now
	// points at base's new number: those rows differ on purpose; gappy's
	// placeholder and legacy-ft's unit must not be differences.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "DIFF") && !strings.Contains(line, " base@") && !strings.Contains(line, " user@") {
			t.Errorf("verify reports %s\n%s", line, errOut)
		}
	}
}

// TestImportMediaAzure: a destination that hands out Azure SAS upload URLs
// gets every upload (x-ms-blob-type: BlockBlob); a zero-byte media object,
// which Langfuse refuses, is skipped with a note.
func TestImportMediaAzure(t *testing.T) {
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4, AzureMedia: true})
	t.Cleanup(srv.Close)
	size := lftest.SizeSmall
	size.Traces = 24
	aID, apk, ask := srv.AddGeneratedProject(lftest.Generate(7, size))
	bID, bpk, bsk := srv.AddProject("B")
	a := srv.Project(aID)
	empty := a.AddMedia("text/plain", []byte{}, lftest.DefaultEnd.Add(-time.Hour))
	var tr *lftest.Trace
	a.EachTrace(func(x *lftest.Trace) bool { tr = x; return false })
	if err := a.AddObservations(&lftest.Observation{ID: "obs-empty-media", TraceID: tr.ID, Type: "SPAN", StartTime: tr.Timestamp,
		Level: "DEFAULT", Environment: tr.Environment, Input: lftest.TextPayload("see " + lftest.MediaReference(empty, "bytes"))}); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(t.TempDir(), "a")
	code, out, errOut := run(t, "migrate", lake, "--yes", "--wait=3s",
		"--source-public-key="+apk, "--source-secret-key="+ask, "--source-host="+srv.URL(),
		"--dest-public-key="+bpk, "--dest-secret-key="+bsk, "--dest-host="+srv.URL())
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	// Every non-empty media object the lake references arrived (the export
	// copied them, the migrate exited 0); the empty one did not.
	if len(srv.Project(bID).MediaList()) == 0 || srv.Project(bID).Media(empty.ID) != nil {
		t.Errorf("destination media: %d objects, empty one present: %v", len(srv.Project(bID).MediaList()), srv.Project(bID).Media(empty.ID) != nil)
	}
	if !strings.Contains(out, "zero bytes") {
		t.Errorf("the summary does not note the zero-byte media\n%s", out)
	}
}
