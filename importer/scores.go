package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// scores sends score-create ingestion events: the envelope timestamp becomes
// the score's timestamp, the id and source are kept, and Langfuse upserts by
// id, so a batch whose outcome is unknown can be sent again.
func (im *importer) scores(ctx context.Context) error {
	const table = "scores"
	var events []lf.IngestionEvent
	var segs []entry
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		defer func() { events, segs = nil, nil }()
		var resp *lf.IngestionResponse
		for attempt := 1; ; attempt++ {
			im.count(table, func(r *Result) { r.Requests++ })
			var err error
			resp, err = im.c.Ingest(ctx, events)
			if err == nil {
				break
			}
			if !errors.Is(err, lf.ErrOutcomeUnknown) || attempt >= 10 {
				return fmt.Errorf("send %d scores: %w", len(events), err)
			}
		}
		for _, e := range resp.Errors {
			msg := ""
			if e.Message != nil {
				msg = *e.Message
			}
			im.count(table, func(r *Result) { r.Failed++ })
			im.note(table, "score event %s refused (%d): %s", e.ID, e.Status, msg)
		}
		// Refused events are recorded too: sending them again would be refused again.
		if err := im.led.write(ctx, segs...); err != nil {
			return err
		}
		im.count(table, func(r *Result) { r.Sent += int64(len(resp.Successes)) })
		return nil
	}
	err := scan(ctx, im, func(f hive.FileEntry, row int64, s *schema.Score) error {
		if im.led.accepted(f.Path, row) {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		ev, err := im.scoreEvent(s)
		if err != nil {
			im.count(table, func(r *Result) { r.Skipped++ })
			im.note(table, "score %s not imported: %v", s.ID, err)
			if err := im.led.write(ctx, entry{K: "rows", File: f.Path, From: row, To: row + 1}); err != nil {
				return err
			}
			return nil
		}
		events = append(events, ev)
		if n := len(segs); n > 0 && segs[n-1].File == f.Path && segs[n-1].To == row {
			segs[n-1].To++
		} else {
			segs = append(segs, entry{K: "rows", Kind: table, File: f.Path, From: row, To: row + 1})
		}
		if len(events) >= im.o.ScoreBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
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
