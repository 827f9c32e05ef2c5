package lftest_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// fingerprint hashes everything a project serves, payloads included.
func fingerprint(p *lftest.Project) string {
	h := sha256.New()
	put := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		h.Write(b)
	}
	text := func(pl lftest.Payload) string { s, ok := pl.Text(); return fmt.Sprint(ok, s) }
	p.EachObservation(func(o *lftest.Observation, t *lftest.Trace) bool {
		put(o)
		put([]string{text(o.Input), text(o.Output), text(o.Metadata), text(o.ModelParameters)})
		put(t)
		put([]string{text(t.Input), text(t.Output), text(t.Metadata)})
		return true
	})
	for _, v := range []any{p.Scores(), p.Prompts(), p.ScoreConfigs(), p.Models(), p.Datasets(), p.DatasetItems(),
		p.DatasetRuns(), p.DatasetRunItems(), p.Comments(), p.AnnotationQueues(), p.AnnotationQueueItems(), p.Sessions(), p.MediaList()} {
		put(v)
	}
	for _, it := range p.DatasetItems() {
		put([]string{text(it.Input), text(it.ExpectedOutput), text(it.Metadata)})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := fingerprint(lftest.Generate(11, lftest.SizeSmall)), fingerprint(lftest.Generate(11, lftest.SizeSmall))
	if a != b {
		t.Error("same seed gave different projects")
	}
	if c := fingerprint(lftest.Generate(12, lftest.SizeSmall)); c == a {
		t.Error("different seeds gave the same project")
	}
	bench := lftest.SizeBench(2000, 1024)
	first := fingerprint(lftest.Generate(3, bench))
	if second := fingerprint(lftest.Generate(3, bench)); first != second {
		t.Error("lazy project is not deterministic")
	}
}

var mediaRef = regexp.MustCompile(`@@@langfuseMedia:type=[^|]+\|id=([A-Za-z0-9_-]{22})\|source=base64_data_uri@@@`)

func TestGenerateCoverage(t *testing.T) {
	p := lftest.Generate(1, lftest.SizeSmall)
	n := p.Counts()
	if n.Observations < 200 || n.Observations > 600 || n.Traces != 40 {
		t.Errorf("counts %+v, want a few hundred observations in 40 traces", n)
	}

	types := map[string]bool{}
	envs := map[string]bool{}
	var nilName, emptyName, nullInput, emptyInput, japanese, emoji, appRoot, sameMs bool
	var maxDepth, maxPayload, minPayload int
	minPayload = 1 << 30
	referenced := map[string]bool{}
	byID := map[string]*lftest.Observation{}
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool { byID[o.ID] = o; return true })
	var prev *lftest.Observation
	p.EachObservation(func(o *lftest.Observation, tr *lftest.Trace) bool {
		types[o.Type] = true
		envs[o.Environment] = true
		nilName = nilName || o.Name == nil
		emptyName = emptyName || (o.Name != nil && *o.Name == "")
		nullInput = nullInput || o.Input.IsNull()
		in, _ := o.Input.Text()
		out, _ := o.Output.Text()
		emptyInput = emptyInput || (!o.Input.IsNull() && in == "")
		appRoot = appRoot || (o.AppRoot && o.ParentObservationID != "")
		if prev != nil && prev.StartTime.Equal(o.StartTime) && prev.TraceID != o.TraceID {
			sameMs = true
		}
		prev = o
		all := in + out
		japanese = japanese || strings.ContainsFunc(all, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) })
		emoji = emoji || strings.ContainsAny(all, "😀🚀📦✅❌🤖🎌👍🔥🌏🧪💬")
		for _, m := range mediaRef.FindAllStringSubmatch(all, -1) {
			referenced[m[1]] = true
		}
		maxPayload, minPayload = max(maxPayload, len(all)), min(minPayload, len(all))
		depth := 0
		for cur := o; cur.ParentObservationID != ""; cur = byID[cur.ParentObservationID] {
			depth++
		}
		maxDepth = max(maxDepth, depth)
		_ = tr
		return true
	})
	for _, typ := range lftest.ObservationTypes {
		if !types[typ] {
			t.Errorf("no %s observation", typ)
		}
	}
	for what, ok := range map[string]bool{"nil name": nilName, "empty name": emptyName, "null input": nullInput,
		"empty-string input": emptyInput, "Japanese text": japanese, "emoji": emoji, "app-root observation": appRoot,
		"traces starting in the same millisecond": sameMs, "several environments": len(envs) >= 3} {
		if !ok {
			t.Errorf("no %s", what)
		}
	}
	if maxDepth < 6 {
		t.Errorf("deepest observation is at depth %d, want >= 6", maxDepth)
	}
	if maxPayload < 30<<10 || minPayload > 1<<10 {
		t.Errorf("payload sizes %d..%d bytes, want from under 1 KB to well over 30 KB", minPayload, maxPayload)
	}
	if len(referenced) == 0 {
		t.Error("no media references in inputs")
	}
	for id := range referenced {
		if p.Media(id) == nil {
			t.Errorf("media %s is referenced but not stored", id)
		}
	}
	for _, m := range p.MediaList() {
		if lftest.MediaID(m.Bytes) != m.ID {
			t.Errorf("media id %s is not derived from its bytes", m.ID)
		}
	}

	scoreTypes, sources := map[string]bool{}, map[string]bool{}
	for _, s := range p.Scores() {
		scoreTypes[s.DataType], sources[s.Source] = true, true
	}
	if len(scoreTypes) != 5 || len(sources) != 3 {
		t.Errorf("score data types %v, sources %v", scoreTypes, sources)
	}

	slash := func(names ...string) bool {
		for _, n := range names {
			if strings.Contains(n, "/") {
				return true
			}
		}
		return false
	}
	var promptNames, datasetNames []string
	chat, placeholder, deps, commit := false, false, false, false
	for _, v := range p.Prompts() {
		promptNames = append(promptNames, v.Name)
		chat = chat || v.Type == "chat"
		for _, m := range v.Messages {
			placeholder = placeholder || m.Placeholder != ""
		}
		deps = deps || strings.Contains(v.Text, "@@@langfusePrompt:name=")
		commit = commit || v.CommitMessage != nil
	}
	for _, d := range p.Datasets() {
		datasetNames = append(datasetNames, d.Name)
	}
	archivedItems := 0
	for _, it := range p.DatasetItems() {
		if it.Status == "ARCHIVED" {
			archivedItems++
		}
	}
	archivedConfigs, managed, custom := 0, 0, 0
	for _, c := range p.ScoreConfigs() {
		if c.IsArchived {
			archivedConfigs++
		}
	}
	for _, m := range p.Models() {
		if m.IsLangfuseManaged {
			managed++
		} else {
			custom++
		}
	}
	commentTypes := map[string]bool{}
	for _, c := range p.Comments() {
		commentTypes[c.ObjectType] = true
	}
	for what, ok := range map[string]bool{"prompt name with /": slash(promptNames...), "dataset name with /": slash(datasetNames...),
		"chat prompt": chat, "placeholder": placeholder, "prompt dependency": deps, "commit message": commit,
		"archived dataset item": archivedItems > 0, "archived score config": archivedConfigs > 0,
		"managed and custom models": managed > 0 && custom > 0, "comments on all object types": len(commentTypes) == 4,
		"annotation queue items": n.AnnotationQueueItems > 0, "dataset runs with items": n.DatasetRuns > 0 && n.DatasetRunItems > 0,
		"sessions": n.Sessions > 1} {
		if !ok {
			t.Errorf("no %s", what)
		}
	}

	var first, last string
	p.EachTrace(func(tr *lftest.Trace) bool {
		if first == "" {
			first = tr.Timestamp.Format("2006-01-02")
		}
		last = tr.Timestamp.Format("2006-01-02")
		return true
	})
	if first == last {
		t.Errorf("all traces on %s, want several days", first)
	}
}

func TestLazyProjectIsSmall(t *testing.T) {
	p := lftest.Generate(9, lftest.SizeBench(20000, 2048))
	if err := p.AddObservations(&lftest.Observation{ID: "x", TraceID: "y"}); err != lftest.ErrReadOnly {
		t.Errorf("write to lazy project: %v, want ErrReadOnly", err)
	}
	n := 0
	var prev *lftest.Observation
	p.EachObservation(func(o *lftest.Observation, tr *lftest.Trace) bool {
		n++
		if tr == nil || tr.ID != o.TraceID {
			t.Fatalf("observation %s without its trace", o.ID)
		}
		if prev != nil && prev.StartTime.Before(o.StartTime) {
			t.Fatalf("lazy order broken at %d", n)
		}
		if p.Trace(o.TraceID) == nil {
			t.Fatalf("trace %s not found by id", o.TraceID)
		}
		prev = o
		return true
	})
	if n != 20000 {
		t.Errorf("%d observations, want exactly 20000", n)
	}
}
