package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// scores sends score-create ingestion events: the envelope timestamp becomes
// the score's timestamp, the id and source are kept, and Langfuse upserts by
// id, so a batch whose outcome is unknown can be sent again.
//
// Langfuse's API answers 207 for every well-formed score and its worker then
// drops, silently, the scores validateAndInflateScore refuses (see
// scoreRefusal). Those are found here, before sending, and reported as
// skipped with the reason. Score configs are archived only after the scores
// step (archiveConfigs); a config the destination has archived already is
// restored for the import and archived again at the end.
func (im *importer) scores(ctx context.Context) error {
	const table = "scores"
	if err := im.loadDestConfigs(ctx); err != nil {
		return err
	}
	var events []lf.IngestionEvent
	var segs []entry
	// Batches are independent (score-create upserts by id): they go in
	// parallel.
	p := im.newPool(ctx)
	skipped := im.newRowLog(table)
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		events, segs := events, segs
		return p.Go(func(ctx context.Context) error { return im.sendScores(ctx, events, segs) })
	}
	err := scan(p.ctx, im, func(f hive.FileEntry, row int64, s *schema.Score) error {
		if im.led.accepted(f.Path, row) {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		ev, err := im.scoreEvent(s)
		if err == nil {
			err = im.restoreConfig(ctx, s)
		}
		if err == nil {
			if why := scoreRefusal(s, im.destConfig(s)); why != "" {
				err = errors.New(why)
			}
		}
		if err != nil {
			im.count(table, func(r *Result) { r.Skipped++ })
			im.note(table, "score %s not imported: %v", s.ID, err)
			return skipped.add(ctx, f.Path, row, entry{K: "id", Kind: skippedPrefix + table, Src: s.ID, Dst: err.Error()})
		}
		if c := im.destConfig(s); c != nil && c.Name != s.Name {
			im.note(table, "score %s is stored under its config's name %q, not %q (Langfuse takes the name from the config)", s.ID, c.Name, s.Name)
		}
		events = append(events, ev)
		if n := len(segs); n > 0 && segs[n-1].File == f.Path && segs[n-1].To == row {
			segs[n-1].To++
		} else {
			segs = append(segs, entry{K: "rows", Kind: table, File: f.Path, From: row, To: row + 1})
		}
		if len(events) >= im.o.ScoreBatch {
			err := flush()
			events, segs = nil, nil
			return err
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return errors.Join(p.Wait(err), skipped.flush(ctx))
}

// ingest sends a batch of ingestion events of table (batch and event name
// them in messages: "scores" and "score event"): a send whose outcome is unknown is sent again, up to 10
// times in all, which the events allow (a score or trace-create event sent
// twice changes nothing). Events Langfuse refuses are counted as failed and
// noted with its reason.
func (im *importer) ingest(ctx context.Context, table, batch, event string, events []lf.IngestionEvent) (*lf.IngestionResponse, error) {
	var resp *lf.IngestionResponse
	for attempt := 1; ; attempt++ {
		im.count(table, func(r *Result) { r.Requests++ })
		var err error
		if resp, err = im.c.Ingest(ctx, events); err == nil {
			break
		}
		if !errors.Is(err, lf.ErrOutcomeUnknown) || attempt >= 10 {
			return nil, fmt.Errorf("send %d %s: %w", len(events), batch, err)
		}
	}
	for _, e := range resp.Errors {
		msg := ""
		if e.Message != nil {
			msg = *e.Message
		}
		im.count(table, func(r *Result) { r.Failed++ })
		im.note(table, "%s %s refused (%d): %s", event, e.ID, e.Status, msg)
	}
	return resp, nil
}

// sendScores sends one batch of score-create events and records its rows.
func (im *importer) sendScores(ctx context.Context, events []lf.IngestionEvent, segs []entry) error {
	const table = "scores"
	resp, err := im.ingest(ctx, table, "scores", "score event", events)
	if err != nil {
		return err
	}
	// Refused events are recorded too: sending them again would be refused again.
	if err := im.led.write(ctx, segs...); err != nil {
		return err
	}
	im.count(table, func(r *Result) { r.Sent += int64(len(resp.Successes)) })
	return nil
}

func (im *importer) scoreEvent(s *schema.Score) (lf.IngestionEvent, error) {
	m := im.ids()
	id := s.ID
	b := lf.ScoreBody{ID: &id, TraceID: m.trace(s.TraceID), ObservationID: m.span(s.ObservationID), SessionID: s.SessionID,
		DatasetRunID: s.DatasetRunID, Name: s.Name, Comment: s.Comment, DataType: &s.DataType, Source: &s.Source}
	if s.Environment != "" {
		b.Environment = &s.Environment
	}
	if s.DatasetRunID != nil && im.gen == lf.V3 {
		if d, ok := im.led.id("dataset_run", *s.DatasetRunID); ok {
			b.DatasetRunID = &d
		}
	}
	if s.ConfigID != nil {
		d, ok := im.led.id("score_configs", *s.ConfigID)
		if !ok {
			return lf.IngestionEvent{}, fmt.Errorf("its score config %s was not imported", *s.ConfigID)
		}
		b.ConfigID = &d
	}
	if s.QueueID != nil {
		if d, ok := im.led.id("annotation_queues", *s.QueueID); ok {
			b.QueueID = &d
		} else {
			b.QueueID = nil
		}
	}
	if s.Metadata != nil && json.Valid([]byte(*s.Metadata)) {
		b.Metadata = json.RawMessage(*s.Metadata)
	}
	var v any
	switch s.DataType {
	case "NUMERIC", "BOOLEAN":
		if s.Value == nil {
			return lf.IngestionEvent{}, fmt.Errorf("%s score without a value", s.DataType)
		}
		v = *s.Value
	default:
		if s.StringValue == nil {
			return lf.IngestionEvent{}, fmt.Errorf("%s score without a string value", s.DataType)
		}
		v = *s.StringValue
	}
	b.Value, _ = json.Marshal(v)
	body, err := json.Marshal(b)
	if err != nil {
		return lf.IngestionEvent{}, err
	}
	return lf.IngestionEvent{ID: "lakefuse-score-" + s.ID, Type: "score-create", Timestamp: s.Timestamp, Body: body}, nil
}

// loadDestConfigs reads the destination's score configs (by id), which the
// worker checks scores against.
func (im *importer) loadDestConfigs(ctx context.Context) error {
	m := map[string]*lf.ScoreConfig{}
	err := im.c.ListScoreConfigs(ctx, lf.PageOptions{}, func(page []lf.ScoreConfig) error {
		for i := range page {
			m[page[i].ID] = &page[i]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the destination's score configs: %w", err)
	}
	im.mu.Lock()
	im.destConfigs = m
	im.mu.Unlock()
	return nil
}

// destConfig is the destination config a score refers to: nil without a
// config; a config with an empty id when it is missing in the destination.
func (im *importer) destConfig(s *schema.Score) *lf.ScoreConfig {
	if s.ConfigID == nil {
		return nil
	}
	d, _ := im.led.id("score_configs", *s.ConfigID)
	im.mu.Lock()
	defer im.mu.Unlock()
	if c := im.destConfigs[d]; c != nil {
		return c
	}
	return &lf.ScoreConfig{}
}

// restoreConfig un-archives the destination config of s for the import (the
// worker drops scores on archived configs); the ledger notes it first, so
// that archiveConfigs archives it again even after a crash.
func (im *importer) restoreConfig(ctx context.Context, s *schema.Score) error {
	c := im.destConfig(s)
	if c == nil || c.ID == "" || !c.IsArchived {
		return nil
	}
	if err := im.led.write(ctx, entry{K: "id", Kind: "config_rearchive", Src: c.ID, Dst: c.ID}); err != nil {
		return err
	}
	im.count("score_configs", func(r *Result) { r.Requests++ })
	restored := false
	if _, err := im.c.UpdateScoreConfig(ctx, c.ID, lf.UpdateScoreConfigRequest{IsArchived: &restored}); err != nil {
		return fmt.Errorf("restore the archived score config %q for its scores: %w", c.Name, err)
	}
	im.mu.Lock()
	cp := *c
	cp.IsArchived = false
	im.destConfigs[c.ID] = &cp
	im.mu.Unlock()
	return nil
}

// textScoreMaxLength is TEXT_SCORE_MAX_LENGTH of Langfuse (packages/shared/src/domain/scores.ts).
const textScoreMaxLength = 500

// scoreRefusal says why Langfuse would not keep s, or "". It follows
// packages/shared/src/server/ingestion/types.ts (ScoreBody: refused at once)
// and validateAndInflateScore.ts (dropped by the worker after a 207):
// ANNOTATION scores need a config unless CORRECTION
// (isAnnotationScoreMissingConfigId); the config must exist, have the
// score's data type and not be archived (archived configs are restored for
// the import, see restoreConfig); the value must fit the config (min/max,
// categories, 0/1, 1-500 characters); CORRECTION scores go on traces and
// observations only. cfg is destConfig(s).
func scoreRefusal(s *schema.Score, cfg *lf.ScoreConfig) string {
	str := ""
	if s.StringValue != nil {
		str = *s.StringValue
	}
	n := len([]rune(str))
	switch {
	case s.DataType == "TEXT" && (n < 1 || n > textScoreMaxLength):
		return fmt.Sprintf("Langfuse takes TEXT scores of 1-%d characters, this one has %d", textScoreMaxLength, n)
	case s.DataType == "BOOLEAN" && s.Value != nil && *s.Value != 0 && *s.Value != 1:
		return fmt.Sprintf("Langfuse takes BOOLEAN scores of 0 or 1, this one is %v", *s.Value)
	case s.DataType == "CORRECTION" && s.ConfigID != nil:
		return "Langfuse takes no score config on CORRECTION scores"
	case s.Source == "ANNOTATION" && s.ConfigID == nil && s.DataType != "CORRECTION":
		return "an ANNOTATION score without a score config: Langfuse's worker drops it " +
			"(configId is required when source is ANNOTATION, except for CORRECTION scores)"
	case s.DataType == "CORRECTION" && s.SessionID != nil:
		return "a CORRECTION score on a session: Langfuse's worker drops it (only traces and observations take corrections)"
	case s.DataType == "CORRECTION" && s.DatasetRunID != nil:
		return "a CORRECTION score on a dataset run: Langfuse's worker drops it (only traces and observations take corrections)"
	}
	if cfg == nil {
		return ""
	}
	if cfg.ID == "" {
		return "its score config is not in the destination: Langfuse's worker would drop it"
	}
	if cfg.DataType != s.DataType {
		return fmt.Sprintf("its score config %q in the destination has data type %s, the score %s: Langfuse's worker would drop it", cfg.Name, cfg.DataType, s.DataType)
	}
	v := 0.0
	if s.Value != nil {
		v = *s.Value
	}
	switch cfg.DataType {
	case "NUMERIC":
		if cfg.MaxValue != nil && v > *cfg.MaxValue {
			return fmt.Sprintf("value %v is above the maximum %v of its score config %q: Langfuse's worker would drop it", v, *cfg.MaxValue, cfg.Name)
		}
		if cfg.MinValue != nil && v < *cfg.MinValue {
			return fmt.Sprintf("value %v is below the minimum %v of its score config %q: Langfuse's worker would drop it", v, *cfg.MinValue, cfg.Name)
		}
	case "CATEGORICAL":
		if !slices.ContainsFunc(cfg.Categories, func(c lf.ConfigCategory) bool { return c.Label == str }) {
			return fmt.Sprintf("label %q is not a category of its score config %q: Langfuse's worker would drop it", str, cfg.Name)
		}
	}
	return ""
}
