package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// once creates one object exactly once and records the id the destination
// gave it under (kind, src). A create that is not idempotent is preceded by
// an intent; after an unknown outcome (now or in a run killed earlier)
// lookup says whether the destination has it. lookup nil means the create
// is idempotent and may simply be sent again.
//
// The objects once creates live in Langfuse's Postgres and a create is
// visible as soon as it is answered, so a create whose answer was lost is
// looked up once, at once, and sent again if absent; onceAsync is for the
// creates Langfuse ingests asynchronously, whose lookup is retried within
// --wait.
func (im *importer) once(ctx context.Context, kind, src string, create func() (string, error), lookup func() (string, bool, error)) (string, error) {
	return im.onceWith(ctx, kind, src, create, lookup, false)
}

// onceAsync is once for a create that Langfuse answers before it is
// visible (dataset run items go through its ingestion queue:
// web/src/features/datasets/server/publicDatasetService.ts,
// createDatasetRunItemForApi calls processEventBatch).
func (im *importer) onceAsync(ctx context.Context, kind, src string, create func() (string, error), lookup func() (string, bool, error)) (string, error) {
	return im.onceWith(ctx, kind, src, create, lookup, true)
}

func (im *importer) onceWith(ctx context.Context, kind, src string, create func() (string, error), lookup func() (string, bool, error), async bool) (string, error) {
	if d, ok := im.led.id(kind, src); ok {
		return d, nil
	}
	key := "ent:" + kind + ":" + src
	record := func(d string) (string, error) {
		return d, im.led.write(ctx, entry{K: "id", Kind: kind, Src: src, Dst: d, Key: key})
	}
	find := func() (string, bool, error) {
		if !async {
			return lookup()
		}
		var d string
		found, err := im.waitFor(ctx, func() (bool, error) {
			var ok bool
			var err error
			d, ok, err = lookup()
			return ok, err
		})
		return d, found, err
	}
	if lookup != nil {
		if _, open := im.led.intent(key); open {
			d, found, err := find()
			if err != nil {
				return "", err
			}
			if found {
				return record(d)
			}
		} else if err := im.led.write(ctx, entry{K: "intent", Kind: kind, Key: key}); err != nil {
			return "", err
		}
	}
	for attempt := 1; ; attempt++ {
		d, err := create()
		if err == nil {
			return record(d)
		}
		if !errors.Is(err, lf.ErrOutcomeUnknown) || attempt >= 10 {
			return "", err
		}
		if lookup != nil {
			d, found, lerr := find()
			if lerr != nil {
				return "", lerr
			}
			if found {
				return record(d)
			}
		}
	}
}

// done runs a table step unless the ledger says it finished, then marks it.
func (im *importer) done(ctx context.Context, table string) error {
	return im.led.write(ctx, entry{K: "done", Kind: table})
}

func (im *importer) skipDone(table string) bool {
	if im.led.isDone(table) {
		im.count(table, func(r *Result) { r.Already = r.Rows })
		return true
	}
	return false
}

// ---------------------------------------------------------------------------------------------
// Score configs, models

func (im *importer) scoreConfigs(ctx context.Context) error {
	const table = "score_configs"
	if im.skipDone(table) {
		return nil
	}
	existing := map[string]*lf.ScoreConfig{}
	list := func() error {
		return im.c.ListScoreConfigs(ctx, lf.PageOptions{}, func(page []lf.ScoreConfig) error {
			for i := range page {
				existing[page[i].Name] = &page[i]
			}
			return nil
		})
	}
	if err := list(); err != nil {
		return err
	}
	err := each(ctx, im, func(sc *schema.ScoreConfig) error {
		if _, ok := im.led.id(table, sc.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		var cfg *lf.ScoreConfig
		d, err := im.once(ctx, table, sc.ID, func() (string, error) {
			if e := existing[sc.Name]; e != nil {
				if e.DataType != sc.DataType {
					return "", fmt.Errorf("score config %q exists in the destination with data type %s, the lake has %s", sc.Name, e.DataType, sc.DataType)
				}
				cfg = e
				return e.ID, nil
			}
			req := lf.CreateScoreConfigRequest{Name: sc.Name, DataType: sc.DataType, MinValue: sc.MinValue, MaxValue: sc.MaxValue, Description: sc.Description}
			if sc.Categories != nil && sc.DataType == "CATEGORICAL" {
				if err := json.Unmarshal([]byte(*sc.Categories), &req.Categories); err != nil {
					return "", fmt.Errorf("categories of score config %q: %w", sc.Name, err)
				}
			}
			im.count(table, func(r *Result) { r.Requests++ })
			c, err := im.c.CreateScoreConfig(ctx, req)
			if err != nil {
				return "", err
			}
			cfg = c
			return c.ID, nil
		}, func() (string, bool, error) {
			if err := list(); err != nil {
				return "", false, err
			}
			if e := existing[sc.Name]; e != nil {
				cfg = e
				return e.ID, true, nil
			}
			return "", false, nil
		})
		if err != nil {
			return err
		}
		// Every config stays active until the scores are in (Langfuse's worker
		// drops scores on archived configs); archiveConfigs archives the
		// lake's archived ones last.
		if cfg == nil || cfg.IsArchived {
			active := false
			im.count(table, func(r *Result) { r.Requests++ })
			if _, err := im.c.UpdateScoreConfig(ctx, d, lf.UpdateScoreConfigRequest{IsArchived: &active}); err != nil {
				return err
			}
		}
		im.count(table, func(r *Result) { r.Sent++ })
		return nil
	})
	if err != nil {
		return err
	}
	return im.done(ctx, table)
}

// archiveConfigs runs after every step that uses score configs (scores,
// annotation queues and their items): it archives the configs the lake has
// archived and those the scores step restored (config_rearchive in the
// ledger). It is idempotent and sends only what differs.
func (im *importer) archiveConfigs(ctx context.Context) error {
	const table = "score_configs"
	want := map[string]bool{}
	for _, d := range sortedKeys(im.led.kind("config_rearchive")) {
		want[d] = true
	}
	if im.tables[table] {
		if err := each(ctx, im, func(sc *schema.ScoreConfig) error {
			if d, ok := im.led.id(table, sc.ID); ok && sc.IsArchived {
				want[d] = true
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(want) == 0 {
		return nil
	}
	archived := map[string]bool{}
	err := im.c.ListScoreConfigs(ctx, lf.PageOptions{}, func(page []lf.ScoreConfig) error {
		for _, c := range page {
			archived[c.ID] = c.IsArchived
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range sortedKeys(want) {
		if archived[d] {
			continue
		}
		arch := true
		im.count(table, func(r *Result) { r.Requests++ })
		if _, err := im.c.UpdateScoreConfig(ctx, d, lf.UpdateScoreConfigRequest{IsArchived: &arch}); err != nil {
			return fmt.Errorf("archive score config %s: %w", d, err)
		}
	}
	return nil
}

// DefaultModelUnit is the unit sent for custom models the lake has without
// one (see models).
const DefaultModelUnit = "TOKENS"

func (im *importer) models(ctx context.Context) error {
	const table = "models"
	if im.skipDone(table) {
		return nil
	}
	existing := map[string]string{}
	list := func() error {
		return im.c.ListModels(ctx, lf.PageOptions{}, func(page []lf.Model) error {
			for _, m := range page {
				if !m.IsLangfuseManaged {
					existing[m.ModelName+"\x00"+m.MatchPattern] = m.ID
				}
			}
			return nil
		})
	}
	if err := list(); err != nil {
		return err
	}
	err := each(ctx, im, func(m *schema.Model) error {
		if m.IsLangfuseManaged {
			im.count(table, func(r *Result) { r.Skipped++ })
			return nil
		}
		key := m.ModelName + "\x00" + m.MatchPattern
		_, err := im.once(ctx, table, m.ID, func() (string, error) {
			if id, ok := existing[key]; ok {
				return id, nil
			}
			req := lf.CreateModelRequest{ModelName: m.ModelName, MatchPattern: m.MatchPattern, StartDate: m.StartDate, Unit: m.Unit,
				TokenizerID: m.TokenizerID}
			if req.Unit == nil {
				// Langfuse requires a unit on create (PostModelsV1Body) but
				// returns null for older models. TOKENS is what it sets on
				// every model made in its UI; prices apply per usage key,
				// so the unit changes no cost.
				req.Unit = ptr(DefaultModelUnit)
				im.note(table, "model %q has no unit in the lake; created with unit %s (Langfuse requires one; it does not change prices)", m.ModelName, DefaultModelUnit)
			}
			if m.TokenizerConfig != nil {
				req.TokenizerConfig = json.RawMessage(*m.TokenizerConfig)
			}
			var tiers []lf.PricingTierInput
			if m.PricingTiers != nil {
				if err := json.Unmarshal([]byte(*m.PricingTiers), &tiers); err != nil {
					return "", fmt.Errorf("pricing tiers of model %q: %w", m.ModelName, err)
				}
			}
			if len(tiers) > 0 {
				req.PricingTiers = tiers
			} else {
				req.InputPrice, req.OutputPrice, req.TotalPrice = m.InputPrice, m.OutputPrice, m.TotalPrice
			}
			im.count(table, func(r *Result) { r.Requests++ })
			res, err := im.c.CreateModel(ctx, req)
			if err != nil {
				return "", err
			}
			return res.ID, nil
		}, func() (string, bool, error) {
			if err := list(); err != nil {
				return "", false, err
			}
			id, ok := existing[key]
			return id, ok, nil
		})
		if err != nil {
			return err
		}
		im.count(table, func(r *Result) { r.Sent++ })
		return nil
	})
	if err != nil {
		return err
	}
	return im.done(ctx, table)
}

// ---------------------------------------------------------------------------------------------
// Prompts

var promptDep = regexp.MustCompile(`@@@langfusePrompt:name=([^|@]+)`)

// prompts creates prompt versions in ascending order, dependencies first, so
// that version numbers line up; missing versions (deleted in the source) are
// filled with placeholders, because Langfuse numbers versions itself.
func (im *importer) prompts(ctx context.Context) error {
	const table = "prompts"
	if im.skipDone(table) {
		return nil
	}
	byName := map[string][]*schema.Prompt{}
	if err := each(ctx, im, func(p *schema.Prompt) error {
		cp := *p
		byName[p.Name] = append(byName[p.Name], &cp)
		return nil
	}); err != nil {
		return err
	}
	order, err := promptOrder(byName)
	if err != nil {
		return err
	}
	for _, name := range order {
		versions := byName[name]
		sort.Slice(versions, func(i, j int) bool { return versions[i].Version < versions[j].Version })
		if err := im.promptVersions(ctx, name, versions); err != nil {
			return err
		}
	}
	return im.done(ctx, table)
}

// promptOrder sorts prompt names so that every prompt comes after the
// prompts its versions reference.
func promptOrder(byName map[string][]*schema.Prompt) ([]string, error) {
	names := sortedKeys(byName)
	state := map[string]int{}
	var out []string
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("prompts reference each other in a cycle: %v", append(path, n))
		case 2:
			return nil
		}
		state[n] = 1
		deps := map[string]bool{}
		for _, v := range byName[n] {
			for _, m := range promptDep.FindAllStringSubmatch(v.Prompt, -1) {
				deps[m[1]] = true
			}
		}
		for _, d := range sortedKeys(deps) {
			if _, ok := byName[d]; ok && d != n {
				if err := visit(d, append(path, n)); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func promptLabels(labels []string) []string {
	return slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return l == "latest" })
}

// samePrompt reports whether a destination version has the lake version's
// content (labels move and are not compared).
func samePrompt(d *lf.Prompt, p *schema.Prompt) bool {
	if d.Type != p.Type || !jsonEqual(d.Prompt, []byte(p.Prompt)) {
		return false
	}
	cfg := []byte("{}")
	if p.Config != nil {
		cfg = []byte(*p.Config)
	}
	dc := d.Config
	if len(dc) == 0 || string(dc) == "null" {
		dc = []byte("{}")
	}
	return jsonEqual(dc, cfg)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func (im *importer) promptVersions(ctx context.Context, name string, versions []*schema.Prompt) error {
	const table = "prompts"
	// What the destination has already.
	var destVersions []int
	err := im.c.ListPrompts(ctx, lf.PromptsQuery{Name: name}, func(page []lf.PromptMeta) error {
		for _, m := range page {
			if m.Name == name {
				destVersions = m.Versions
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	latest := slices.Max(append(slices.Clone(destVersions), 0))
	offset := int64(0) // append: lake version v becomes v + offset
	byVersion := map[int64]*schema.Prompt{}
	for _, v := range versions {
		byVersion[v.Version] = v
	}
	// Versions the destination has must match, unless told otherwise.
	for _, dv := range destVersions {
		lv := byVersion[int64(dv)]
		if lv == nil {
			continue
		}
		if _, ok := im.led.id("prompt_version", name+"\x00"+strconv.FormatInt(lv.Version, 10)); ok {
			continue
		}
		got, err := im.c.GetPrompt(ctx, name, dv)
		if err != nil {
			return err
		}
		if samePrompt(got, lv) {
			if err := im.recordPrompt(ctx, lv, got); err != nil {
				return err
			}
			im.count(table, func(r *Result) { r.Already++ })
			continue
		}
		switch im.o.OnPromptConflict {
		case PromptConflictSkip:
			im.note(table, "prompt %q skipped: version %d differs in the destination", name, dv)
			im.count(table, func(r *Result) { r.Skipped += int64(len(versions)) })
			return nil
		case PromptConflictAppend:
			offset = int64(latest)
			im.note(table, "prompt %q appended after the destination's version %d: its version numbers are shifted by %d", name, latest, latest)
		default:
			return fmt.Errorf("%w: prompt %q version %d exists in %s with different content: "+
				"pass --on-prompt-conflict=skip to keep the destination's, or =append to add the lake's versions after them", ErrPromptConflict, name, dv, im.dest.Name)
		}
		break
	}
	maxV := versions[len(versions)-1].Version
	for v := int64(1); v <= maxV; v++ {
		lv := byVersion[v]
		target := v + offset
		if offset == 0 && target <= int64(latest) {
			continue // present and identical, checked above (or a gap the destination filled)
		}
		if lv != nil {
			if _, ok := im.led.id("prompt_version", name+"\x00"+strconv.FormatInt(v, 10)); ok {
				im.count(table, func(r *Result) { r.Already++ })
				continue
			}
		}
		if offset > 0 && lv == nil {
			continue // appending: gaps need no filling, numbers do not line up anyway
		}
		req := lf.CreatePromptRequest{Name: name, Type: "text", Prompt: json.RawMessage(`"(placeholder for a deleted version, created by lakefuse import)"`)}
		if lv != nil {
			req = lf.CreatePromptRequest{Name: name, Type: lv.Type, Prompt: json.RawMessage(im.rewritePromptRefs(lv.Prompt)), Labels: promptLabels(lv.Labels),
				Tags: lv.Tags, CommitMessage: lv.CommitMessage}
			if lv.Config != nil {
				req.Config = json.RawMessage(*lv.Config)
			}
		} else {
			req.Type = versions[0].Type
			if req.Type == "chat" {
				req.Prompt = json.RawMessage(`[{"role":"system","content":"(placeholder for a deleted version, created by lakefuse import)"}]`)
			}
			req.CommitMessage = ptr(fmt.Sprintf("lakefuse: placeholder for version %d, deleted in the source", v))
			req.Tags = versions[0].Tags
			im.note(table, "prompt %q: version %d was missing in the lake and is a placeholder in the destination", name, v)
		}
		src := name + "\x00" + strconv.FormatInt(v, 10)
		var created *lf.Prompt
		_, err := im.once(ctx, "prompt_create", src, func() (string, error) {
			im.count(table, func(r *Result) { r.Requests++ })
			p, err := im.c.CreatePrompt(ctx, req)
			if err != nil {
				return "", err
			}
			created = p
			return strconv.Itoa(p.Version), nil
		}, func() (string, bool, error) {
			p, err := im.c.GetPrompt(ctx, name, int(target))
			if errors.Is(err, lf.ErrNotFound) {
				return "", false, nil
			}
			if err != nil {
				return "", false, err
			}
			created = p
			return strconv.Itoa(p.Version), true, nil
		})
		if err != nil {
			return err
		}
		if created == nil {
			if created, err = im.c.GetPrompt(ctx, name, int(target)); err != nil {
				return err
			}
		}
		if int64(created.Version) != target {
			im.note(table, "prompt %q: lake version %d became version %d", name, v, created.Version)
		}
		if lv != nil {
			if err := im.recordPrompt(ctx, lv, created); err != nil {
				return err
			}
			im.count(table, func(r *Result) { r.Sent++ })
		} else if err := im.led.write(ctx, entry{K: "id", Kind: createdPrefix + table, Src: name + "@" + strconv.Itoa(created.Version),
			Dst: "placeholder for a version deleted in the source"}); err != nil {
			return err
		}
	}
	return nil
}

// promptRef is Langfuse's prompt dependency tag
// (packages/shared/src/features/prompts/parsePromptDependencyTags.ts:
// /@@@langfusePrompt:(.*?)@@@/g, the inside split at "|" into exactly
// name=… and version=… or label=…).
var promptRef = regexp.MustCompile(`@@@langfusePrompt:(.*?)@@@`)

// rewritePromptRefs points version references at the numbers the
// referenced versions got in the destination (they differ when versions
// were appended after the destination's own). Label references follow the
// labels and stay.
func (im *importer) rewritePromptRefs(text string) string {
	return rewritePromptRefs(text, func(name string, v int) (int, bool) {
		d, ok := im.led.id("prompt_version", name+"\x00"+strconv.Itoa(v))
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(d)
		return n, err == nil
	})
}

func rewritePromptRefs(text string, dest func(name string, v int) (int, bool)) string {
	return promptRef.ReplaceAllStringFunc(text, func(tag string) string {
		inner := strings.TrimSuffix(strings.TrimPrefix(tag, "@@@langfusePrompt:"), "@@@")
		parts := strings.Split(inner, "|")
		if len(parts) != 2 || !strings.HasPrefix(parts[0], "name=") || !strings.HasPrefix(parts[1], "version=") {
			return tag
		}
		v, err := strconv.Atoi(strings.TrimPrefix(parts[1], "version="))
		if err != nil {
			return tag
		}
		n, ok := dest(strings.TrimPrefix(parts[0], "name="), v)
		if !ok || n == v {
			return tag
		}
		return "@@@langfusePrompt:" + parts[0] + "|version=" + strconv.Itoa(n) + "@@@"
	})
}

// recordPrompt maps a lake prompt version to the destination's (its version
// number and its id, which PROMPT comments refer to).
func (im *importer) recordPrompt(ctx context.Context, lv *schema.Prompt, d *lf.Prompt) error {
	es := []entry{{K: "id", Kind: "prompt_version", Src: lv.Name + "\x00" + strconv.FormatInt(lv.Version, 10), Dst: strconv.Itoa(d.Version)}}
	if lv.ID != nil && d.ID != "" {
		es = append(es, entry{K: "id", Kind: "prompt", Src: *lv.ID, Dst: d.ID})
	}
	return im.led.write(ctx, es...)
}

func ptr[T any](v T) *T { return &v }

// ---------------------------------------------------------------------------------------------
// Datasets and items

func (im *importer) datasets(ctx context.Context) error {
	const table = "datasets"
	err := each(ctx, im, func(d *schema.Dataset) error {
		if _, ok := im.led.id("dataset", d.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		_, err := im.once(ctx, "dataset", d.ID, func() (string, error) {
			req := lf.CreateDatasetRequest{Name: d.Name, Description: d.Description}
			for _, f := range []struct {
				dst *json.RawMessage
				src *string
			}{{&req.Metadata, d.Metadata}, {&req.InputSchema, d.InputSchema}, {&req.ExpectedOutputSchema, d.ExpectedOutputSchema}} {
				if f.src != nil {
					*f.dst = json.RawMessage(*f.src)
				}
			}
			im.count(table, func(r *Result) { r.Requests++ })
			res, err := im.c.CreateDataset(ctx, req)
			if err != nil {
				return "", err
			}
			return res.ID, nil
		}, nil)
		if err != nil {
			return err
		}
		im.count(table, func(r *Result) { r.Sent++ })
		return nil
	})
	return err
}

func (im *importer) datasetItems(ctx context.Context) error {
	const table = "dataset_items"
	m := im.ids()
	p := im.newPool(ctx)
	done := im.newRowLog(table)
	err := scan(p.ctx, im, func(f hive.FileEntry, row int64, it *schema.DatasetItem) error {
		if im.led.accepted(f.Path, row) {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		id := it.ID
		req := lf.CreateDatasetItemRequest{DatasetName: it.DatasetName, ID: &id, Status: &it.Status,
			SourceTraceID: m.trace(it.SourceTraceID), SourceObservationID: m.span(it.SourceObservationID)}
		for _, x := range []struct {
			dst *json.RawMessage
			src *string
		}{{&req.Input, it.Input}, {&req.ExpectedOutput, it.ExpectedOutput}, {&req.Metadata, it.Metadata}} {
			if x.src != nil {
				*x.dst = json.RawMessage(*x.src)
			}
		}
		// An upsert by id: items go in parallel, and one whose answer was
		// lost is simply sent again.
		return p.Go(func(ctx context.Context) error {
			im.count(table, func(r *Result) { r.Requests++ })
			if _, err := im.c.CreateDatasetItem(ctx, req); err != nil {
				return err
			}
			im.count(table, func(r *Result) { r.Sent++ })
			return done.add(ctx, f.Path, row)
		})
	})
	return errors.Join(p.Wait(err), done.flush(ctx))
}

// ---------------------------------------------------------------------------------------------
// Annotation queues and items

func (im *importer) queues(ctx context.Context) error {
	const table = "annotation_queues"
	existing := map[string]string{}
	list := func() error {
		return im.c.ListAnnotationQueues(ctx, lf.PageOptions{}, func(page []lf.AnnotationQueue) error {
			for _, q := range page {
				existing[q.Name] = q.ID
			}
			return nil
		})
	}
	if err := list(); err != nil {
		return err
	}
	return each(ctx, im, func(q *schema.AnnotationQueue) error {
		if _, ok := im.led.id(table, q.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		var cfgs []string
		for _, c := range q.ScoreConfigIDs {
			d, ok := im.led.id("score_configs", c)
			if !ok {
				return fmt.Errorf("annotation queue %q: its score config %s was not imported (import score_configs too)", q.Name, c)
			}
			cfgs = append(cfgs, d)
		}
		_, err := im.once(ctx, table, q.ID, func() (string, error) {
			if id, ok := existing[q.Name]; ok {
				return id, nil
			}
			im.count(table, func(r *Result) { r.Requests++ })
			res, err := im.c.CreateAnnotationQueue(ctx, lf.CreateAnnotationQueueRequest{Name: q.Name, Description: q.Description, ScoreConfigIDs: cfgs})
			if err != nil {
				return "", err
			}
			return res.ID, nil
		}, func() (string, bool, error) {
			if err := list(); err != nil {
				return "", false, err
			}
			id, ok := existing[q.Name]
			return id, ok, nil
		})
		if err != nil {
			return err
		}
		im.count(table, func(r *Result) { r.Sent++ })
		return nil
	})
}

// objectID maps the id of a commented or queued object.
func (im *importer) objectID(typ, id string) (string, bool) {
	switch typ {
	case "TRACE":
		return im.ids().traceID(id), true
	case "OBSERVATION":
		return im.ids().spanID(id), true
	case "SESSION":
		return id, true
	case "PROMPT":
		return im.led.id("prompt", id)
	}
	return "", false
}

func (im *importer) queueItems(ctx context.Context) error {
	const table = "annotation_queue_items"
	// Items are independent: they go in parallel.
	p := im.newPool(ctx)
	err := each(p.ctx, im, func(it *schema.AnnotationQueueItem) error {
		if _, ok := im.led.id(table, it.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		q, ok := im.led.id("annotation_queues", it.QueueID)
		if !ok {
			im.count(table, func(r *Result) { r.Skipped++ })
			im.note(table, "item %s skipped: its queue %s was not imported", it.ID, it.QueueID)
			return nil
		}
		obj, _ := im.objectID(it.ObjectType, it.ObjectID)
		status := it.Status
		return p.Go(func(ctx context.Context) error { return im.queueItem(ctx, it, q, obj, status) })
	})
	return p.Wait(err)
}

func (im *importer) queueItem(ctx context.Context, it *schema.AnnotationQueueItem, q, obj, status string) error {
	const table = "annotation_queue_items"
	_, err := im.once(ctx, table, it.ID, func() (string, error) {
		im.count(table, func(r *Result) { r.Requests++ })
		res, err := im.c.CreateAnnotationQueueItem(ctx, q, lf.CreateAnnotationQueueItemRequest{ObjectID: obj, ObjectType: it.ObjectType, Status: &status})
		if err != nil {
			return "", err
		}
		return res.ID, nil
	}, func() (string, bool, error) {
		var found string
		err := im.c.ListAnnotationQueueItems(ctx, q, "", lf.PageOptions{}, func(page []lf.AnnotationQueueItem) error {
			for _, x := range page {
				if x.ObjectID == obj && x.ObjectType == it.ObjectType {
					found = x.ID
				}
			}
			return nil
		})
		return found, found != "", err
	})
	if err != nil {
		return err
	}
	im.count(table, func(r *Result) { r.Sent++ })
	return nil
}

// ---------------------------------------------------------------------------------------------
// Dataset run items

// runItems links dataset items to traces. A v4 destination got the links as
// langfuse.experiment.* attributes of the spans; a v3 destination takes them
// from the run items endpoint, with the original createdAt.
func (im *importer) runItems(ctx context.Context) error {
	const table = "dataset_run_items"
	if im.gen == lf.V4 {
		n, _ := im.rows(table)
		im.count(table, func(r *Result) { r.Sent = n })
		if n > 0 {
			im.note(table, "carried by langfuse.experiment.* attributes of the spans (Langfuse v4 stores experiments with the observations)")
		}
		return nil
	}
	runs := map[string]*schema.DatasetRun{}
	if err := each(ctx, im, func(r *schema.DatasetRun) error { runs[r.ID] = r; return nil }); err != nil {
		return err
	}
	m := im.ids()
	return each(ctx, im, func(ri *schema.DatasetRunItem) error {
		if _, ok := im.led.id(table, ri.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		run := runs[ri.DatasetRunID]
		req := lf.CreateDatasetRunItemRequest{RunName: ri.DatasetRunName, DatasetItemID: ri.DatasetItemID,
			TraceID: m.trace(&ri.TraceID), ObservationID: m.span(ri.ObservationID), CreatedAt: ri.CreatedAt}
		if run != nil {
			req.RunDescription = run.Description
			if run.Metadata != nil {
				req.Metadata = json.RawMessage(*run.Metadata)
			}
		}
		var dsID string
		if ri.DatasetID != nil {
			dsID, _ = im.led.id("dataset", *ri.DatasetID)
		} else if run != nil && run.DatasetID != nil {
			dsID, _ = im.led.id("dataset", *run.DatasetID)
		}
		var runID string
		_, err := im.onceAsync(ctx, table, ri.ID, func() (string, error) {
			im.count(table, func(r *Result) { r.Requests++ })
			res, err := im.c.CreateDatasetRunItem(ctx, req)
			if err != nil {
				return "", err
			}
			runID = res.DatasetRunID
			return res.ID, nil
		}, func() (string, bool, error) {
			if dsID == "" {
				return "", false, nil
			}
			var found string
			err := im.c.ListDatasetRunItems(ctx, dsID, ri.DatasetRunName, lf.PageOptions{}, func(page []lf.DatasetRunItem) error {
				for _, x := range page {
					if x.DatasetItemID == ri.DatasetItemID && x.TraceID == *req.TraceID {
						found, runID = x.ID, x.DatasetRunID
					}
				}
				return nil
			})
			if errors.Is(err, lf.ErrNotFound) {
				return "", false, nil
			}
			return found, found != "", err
		})
		if err != nil {
			return err
		}
		if runID != "" {
			if _, ok := im.led.id("dataset_run", ri.DatasetRunID); !ok {
				if err := im.led.write(ctx, entry{K: "id", Kind: "dataset_run", Src: ri.DatasetRunID, Dst: runID}); err != nil {
					return err
				}
			}
		}
		im.count(table, func(r *Result) { r.Sent++ })
		return nil
	})
}

// ---------------------------------------------------------------------------------------------
// Comments

// comments are created once their object exists; tracing data shows up in
// Langfuse asynchronously, so a missing object is waited for (bounded).
func (im *importer) comments(ctx context.Context) error {
	const table = "comments"
	// Comments are independent: they go in parallel, each waiting for its
	// object if Langfuse has not shown it yet.
	p := im.newPool(ctx)
	err := each(p.ctx, im, func(cm *schema.Comment) error {
		if _, ok := im.led.id(table, cm.ID); ok {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		obj, ok := im.objectID(cm.ObjectType, cm.ObjectID)
		if !ok {
			im.count(table, func(r *Result) { r.Skipped++ })
			im.note(table, "comment %s skipped: its %s %s was not imported", cm.ID, cm.ObjectType, cm.ObjectID)
			return nil
		}
		return p.Go(func(ctx context.Context) error { return im.comment(ctx, cm, obj) })
	})
	return p.Wait(err)
}

func (im *importer) comment(ctx context.Context, cm *schema.Comment, obj string) error {
	const table = "comments"
	req := lf.CreateCommentRequest{ProjectID: im.dest.ID, ObjectType: cm.ObjectType, ObjectID: obj, Content: cm.Content}
	_, err := im.once(ctx, table, cm.ID, func() (string, error) {
		var id string
		var cerr error
		ok, err := im.waitFor(ctx, func() (bool, error) {
			im.count(table, func(r *Result) { r.Requests++ })
			id, cerr = im.c.CreateComment(ctx, req)
			if errors.Is(cerr, lf.ErrNotFound) {
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("comment %s: its %s %s did not appear in the destination within %v: %w", cm.ID, cm.ObjectType, obj, im.o.Wait, cerr)
		}
		return id, cerr
	}, func() (string, bool, error) {
		var found string
		err := im.c.ListComments(ctx, lf.CommentsQuery{ObjectType: cm.ObjectType, ObjectID: obj}, func(page []lf.Comment) error {
			for _, x := range page {
				if x.Content == cm.Content {
					found = x.ID
				}
			}
			return nil
		})
		return found, found != "", err
	})
	if err != nil {
		return err
	}
	im.count(table, func(r *Result) { r.Sent++ })
	return nil
}

// ---------------------------------------------------------------------------------------------
// Media

// media uploads the bytes of every referenced media object again; Langfuse
// derives the id from the bytes, so references in I/O stay valid. Media are
// independent upserts (Langfuse keys them by the bytes' hash): they go in
// parallel, each its three requests (POST /media, PUT of the bytes, PATCH).
func (im *importer) media(ctx context.Context) error {
	const table = "media"
	m := im.ids()
	p := im.newPool(ctx)
	done := im.newRowLog(table)
	err := scan(p.ctx, im, func(f hive.FileEntry, row int64, md *schema.MediaReference) error {
		if im.led.accepted(f.Path, row) {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		skip := func(why string) error {
			im.count(table, func(r *Result) { r.Skipped++ })
			im.note(table, "media %s not uploaded: %s", md.ID, why)
			return done.add(ctx, f.Path, row)
		}
		if md.Path == nil || md.SHA256 == nil || md.ContentLength == nil || md.Field == nil {
			return skip("the lake has no bytes for it")
		}
		if im.o.Redactor != nil && !im.o.Redactor.MediaRowKept(md) {
			return skip("it is referenced from a value the redaction policy removes")
		}
		if *md.ContentLength <= 0 {
			// contentLength must be positive (web/src/features/media/validation.ts).
			return skip("it has zero bytes, and Langfuse takes no empty media")
		}
		req := lf.MediaUploadRequest{TraceID: m.trace(md.TraceID), ObservationID: m.span(md.ObservationID), ContentType: md.ContentType,
			ContentLength: *md.ContentLength, SHA256Hash: *md.SHA256, Field: *md.Field}
		if md.DatasetItemID != nil {
			req.DatasetItemID = md.DatasetItemID
			ds, err := im.datasetOfItem(p.ctx, *md.DatasetItemID)
			if err != nil {
				return err
			}
			if ds != "" {
				req.DatasetID = &ds
			}
		}
		return p.Go(func(ctx context.Context) error { return im.mediaUpload(ctx, f, row, md, req, done) })
	})
	// What was sent is recorded even when something failed: a rerun sends
	// only the rest.
	return errors.Join(p.Wait(err), done.flush(ctx))
}

// mediaUpload uploads one media object and records its row.
func (im *importer) mediaUpload(ctx context.Context, f hive.FileEntry, row int64, md *schema.MediaReference, req lf.MediaUploadRequest, done *rowLog) error {
	const table = "media"
	im.count(table, func(r *Result) { r.Requests++ })
	res, err := im.c.CreateMediaUpload(ctx, req)
	if err != nil {
		return err
	}
	if res.UploadURL != nil {
		start := time.Now()
		path := *md.Path
		im.count(table, func(r *Result) { r.Requests += 2 })
		err := im.c.UploadMedia(ctx, *res.UploadURL, md.ContentType, *md.SHA256, *md.ContentLength, func() (io.ReadCloser, error) {
			obj, err := im.lake.Bucket().Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return readCloser{io.NewSectionReader(obj, 0, obj.Size()), obj}, nil
		})
		if err != nil {
			return err
		}
		ms := time.Since(start).Milliseconds()
		if err := im.c.PatchMedia(ctx, res.MediaID, lf.PatchMediaRequest{UploadedAt: time.Now().UTC(), UploadHTTPStatus: 200, UploadTimeMs: &ms}); err != nil {
			return err
		}
	}
	if res.MediaID != md.ID {
		im.note(table, "media %s got the id %s in the destination", md.ID, res.MediaID)
	}
	im.count(table, func(r *Result) { r.Sent++ })
	return done.add(ctx, f.Path, row)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// datasetOfItem returns the destination dataset id of a dataset item. The
// lake's items are read once, on first use (it used to scan the whole
// dataset_items table for every media object of an item).
func (im *importer) datasetOfItem(ctx context.Context, itemID string) (string, error) {
	im.itemsOnce.Do(func() {
		im.itemDatasets = map[string]string{}
		im.itemsErr = each(ctx, im, func(it *schema.DatasetItem) error {
			im.itemDatasets[it.ID] = it.DatasetID
			return nil
		})
	})
	if im.itemsErr != nil {
		return "", fmt.Errorf("read the lake's dataset items: %w", im.itemsErr)
	}
	ds, _ := im.led.id("dataset", im.itemDatasets[itemID])
	return ds, nil
}
