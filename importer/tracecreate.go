package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// Traces in a v3 destination. Langfuse v3 turns every OTLP span that
// carries trace attributes into a trace-create event and merges the events
// of a trace in the order of their timestamps (the span's start):
// worker/src/services/IngestionService/index.ts processTraceEventList,
// toTimeSortedEventList, and utils.ts overwriteObject, where a null
// overwrites and only an undefined keeps. The span events set
// version = langfuse.version ?? service.version ?? null and release the
// same way, the root's event takes the root span's name when the trace has
// none, and its metadata absorbs the root observation's
// (OtelIngestionProcessor.ts createTraceEvent). So after the spans the
// importer sends each trace once more as a legacy trace-create event
// (/api/public/ingestion, which v3 serves) whose envelope timestamp is the
// time of the import, later than every span: its values win, explicit
// nulls included. What it cannot undo: metadata keys are deep-merged (never
// removed), and input and output are the last non-empty ones, so a trace
// without input keeps the one its root span gave it.

// traceEventBytes bounds the events of one ingestion request (Langfuse
// takes 3.5 MB).
const traceEventBytes = 3 << 20

func (im *importer) traceCreates(ctx context.Context) error {
	const table = "observations"
	now := im.o.Now().UTC()
	ids := im.ids()
	var (
		events []lf.IngestionEvent
		segs   []entry
		size   int
	)
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		defer func() { events, segs, size = nil, nil, 0 }()
		// trace-create events merge: sending one again changes nothing.
		if _, err := im.ingest(ctx, table, "trace-create events", "trace-create event", events); err != nil {
			return err
		}
		return im.led.write(ctx, segs...)
	}
	for _, f := range im.files("traces") {
		// The per-trace work of rootSpans (v4) and of this (v3) never
		// meet in one destination, so they share the ledger key.
		key := "roots:" + f.Path
		err := readFile(ctx, im, f, readOpts{skip: func(row int64) bool { return im.led.accepted(key, row) }}, func(row int64, t *schema.Trace) error {
			ev, err := traceCreateEvent(t, ids.traceID(t.ID), now)
			if err != nil {
				return err
			}
			if len(events) > 0 && (len(events) >= im.o.ScoreBatch || size+len(ev.Body) > traceEventBytes) {
				if err := flush(); err != nil {
					return err
				}
			}
			events = append(events, ev)
			size += len(ev.Body) + 128
			if n := len(segs); n > 0 && segs[n-1].To == row {
				segs[n-1].To = row + 1
			} else {
				segs = append(segs, entry{K: "rows", Kind: table, File: key, From: row, To: row + 1})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return flush()
}

// traceCreateEvent is the trace-create event that sets a v3 trace to the
// lake's row. Name, release and version are sent as null when the row has
// none, which clears what the span events set.
func traceCreateEvent(t *schema.Trace, id string, now time.Time) (lf.IngestionEvent, error) {
	body := map[string]any{"id": id, "timestamp": iso(t.Timestamp), "name": t.Name, "release": t.Release, "version": t.Version,
		"public": t.Public, "tags": t.Tags}
	if t.Tags == nil {
		body["tags"] = []string{}
	}
	if t.Environment != "" {
		body["environment"] = t.Environment
	}
	if t.UserID != nil {
		body["userId"] = *t.UserID
	}
	if t.SessionID != nil {
		body["sessionId"] = *t.SessionID
	}
	if t.Metadata != nil {
		body["metadata"] = json.RawMessage(metadataObject(*t.Metadata))
	}
	for k, v := range map[string]*string{"input": t.Input, "output": t.Output} {
		if v == nil {
			continue
		}
		if json.Valid([]byte(*v)) {
			body[k] = json.RawMessage(*v)
		} else {
			body[k] = *v
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return lf.IngestionEvent{}, fmt.Errorf("trace %s: %w", t.ID, err)
	}
	sum := sha256.Sum256([]byte("lakefuse-trace-create:" + t.ID))
	return lf.IngestionEvent{ID: hex.EncodeToString(sum[:16]), Type: "trace-create", Timestamp: now, Body: b}, nil
}
