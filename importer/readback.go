package importer

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// The read-back: after every step, the importer reads what the destination
// kept and compares it with what it sent. Langfuse's API accepts scores that
// its worker then drops, and ingestion is asynchronous, so a 2xx is not
// proof. Memory stays bounded: a 64-bit hash per expected id, never rows.
//
// Scores are checked by id through the v3 scores API (v2 scores on Langfuse
// v3), observations by id through the v2 observations API (v1 on Langfuse
// v3), and the objects whose ids the destination assigned (score configs,
// models, prompt versions, datasets, annotation queues and their items,
// comments) by the ids in the ledger; dataset items by their kept ids.
// Media are not read back (one request per object).

// Shortfall is what the destination lacks of one table after an import.
type Shortfall struct {
	Table    string
	Missing  int64
	Expected int64
	// Examples are a few missing ids (lake ids).
	Examples []string
}

func (s Shortfall) String() string {
	return fmt.Sprintf("%s: %d of %d missing (e.g. %s)", s.Table, s.Missing, s.Expected, strings.Join(s.Examples, ", "))
}

const readBackExamples = 5

func idHash(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// idSet is the set of expected ids (hashed), with the lake ids of the
// first keptLakeIDs for the report; beyond that a shortfall's examples come
// from a second pass over the lake (see missingIn). The hashes are a sorted
// list with a bit each for "seen": 8 bytes an id (a map of a million ids
// took ~40 MB of the demo's heap while the import read back, issue 11).
type idSet struct {
	hashes   []uint64 // added; sorted and deduplicated when first looked up
	sealed   bool
	seenBits []uint64
	left     int // not seen yet
	lakeIDs  map[uint64]string
}

const keptLakeIDs = 10000

func newIDSet() *idSet { return &idSet{lakeIDs: map[uint64]string{}} }

func (s *idSet) add(dst, lakeID string) {
	if s.sealed {
		panic("importer: idSet.add after a lookup")
	}
	h := idHash(dst)
	s.hashes = append(s.hashes, h)
	if _, ok := s.lakeIDs[h]; !ok && len(s.lakeIDs) < keptLakeIDs {
		s.lakeIDs[h] = lakeID
	}
}

func (s *idSet) seal() {
	if s.sealed {
		return
	}
	s.sealed = true
	slices.Sort(s.hashes)
	s.hashes = slices.Clip(slices.Compact(s.hashes))
	s.left = len(s.hashes)
	s.seenBits = make([]uint64, (len(s.hashes)+63)/64)
}

// seen marks a destination id as found.
func (s *idSet) seen(dst string) {
	s.seal()
	i, ok := slices.BinarySearch(s.hashes, idHash(dst))
	if ok && s.seenBits[i/64]&(1<<(i%64)) == 0 {
		s.seenBits[i/64] |= 1 << (i % 64)
		s.left--
	}
}

// remaining is how many expected ids were not seen.
func (s *idSet) remaining() int {
	s.seal()
	return s.left
}

func (s *idSet) shortfall(table string, examples func(missing map[uint64]string) []string) *Shortfall {
	if s.remaining() == 0 {
		return nil
	}
	missing := make(map[uint64]string, s.left)
	for i, h := range s.hashes {
		if s.seenBits[i/64]&(1<<(i%64)) == 0 {
			missing[h] = s.lakeIDs[h] // "" past keptLakeIDs
		}
	}
	return &Shortfall{Table: table, Missing: int64(s.left), Expected: int64(len(s.hashes)), Examples: examples(missing)}
}

// readBack returns what the destination lacks, table by table.
func (im *importer) readBack(ctx context.Context) ([]Shortfall, error) {
	var out []Shortfall
	for _, t := range []struct {
		table string
		fn    func(context.Context) (*Shortfall, error)
	}{
		{"score_configs", im.readBackLedger("score_configs", "score_configs")},
		{"models", im.readBackLedger("models", "models")},
		{"prompts", im.readBackPrompts},
		{"datasets", im.readBackLedger("datasets", "dataset")},
		{"dataset_items", im.readBackDatasetItems},
		{"annotation_queues", im.readBackLedger("annotation_queues", "annotation_queues")},
		{"observations", im.readBackObservations},
		{"scores", im.readBackScores},
		{"annotation_queue_items", im.readBackLedger("annotation_queue_items", "annotation_queue_items")},
		{"comments", im.readBackLedger("comments", "comments")},
	} {
		if !im.tables[t.table] {
			continue
		}
		if n, _ := im.rows(t.table); n == 0 {
			continue
		}
		s, err := t.fn(ctx)
		if err != nil {
			return out, fmt.Errorf("read back %s: %w", t.table, err)
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, nil
}

// poll lists the destination until nothing expected is missing or the wait
// bound passes (Langfuse ingests asynchronously).
func (im *importer) poll(ctx context.Context, set *idSet, list func() error) error {
	if set.remaining() == 0 {
		return nil
	}
	_, err := im.waitFor(ctx, func() (bool, error) {
		if err := list(); err != nil {
			return false, err
		}
		return set.remaining() == 0, nil
	})
	return err
}

// someMissing returns up to readBackExamples lake ids of missing entries.
func someMissing(missing map[uint64]string) []string {
	var out []string
	for _, id := range missing {
		if id != "" {
			out = append(out, id)
		}
	}
	if len(out) > readBackExamples {
		out = out[:readBackExamples]
	}
	return out
}

// missingIn returns a few lake ids of missing entries, reading the lake
// again when the set did not keep them.
func (im *importer) missingIn(ctx context.Context, missing map[uint64]string, scan func(fn func(dst, lakeID string)) error) []string {
	if out := someMissing(missing); len(out) > 0 {
		return out
	}
	var out []string
	_ = scan(func(dst, lakeID string) {
		if _, ok := missing[idHash(dst)]; ok && len(out) < readBackExamples {
			out = append(out, lakeID)
		}
	})
	return out
}

// readBackLedger checks that every destination id the ledger recorded under
// kind is in the destination.
func (im *importer) readBackLedger(table, kind string) func(context.Context) (*Shortfall, error) {
	return func(ctx context.Context) (*Shortfall, error) {
		set := newIDSet()
		for src, dst := range im.led.kind(kind) {
			set.add(dst, src)
		}
		seen := func(id string) { set.seen(id) }
		var list func() error
		switch table {
		case "score_configs":
			list = func() error {
				return im.c.ListScoreConfigs(ctx, lf.PageOptions{}, func(p []lf.ScoreConfig) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
		case "models":
			list = func() error {
				return im.c.ListModels(ctx, lf.PageOptions{}, func(p []lf.Model) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
		case "datasets":
			list = func() error {
				return im.c.ListDatasets(ctx, lf.PageOptions{}, func(p []lf.Dataset) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
		case "annotation_queues":
			list = func() error {
				return im.c.ListAnnotationQueues(ctx, lf.PageOptions{}, func(p []lf.AnnotationQueue) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
		case "annotation_queue_items":
			list = func() error {
				for _, q := range im.led.kind("annotation_queues") {
					err := im.c.ListAnnotationQueueItems(ctx, q, "", lf.PageOptions{}, func(p []lf.AnnotationQueueItem) error {
						for _, x := range p {
							seen(x.ID)
						}
						return nil
					})
					if err != nil {
						return err
					}
				}
				return nil
			}
		case "comments":
			list = func() error {
				return im.c.ListComments(ctx, lf.CommentsQuery{}, func(p []lf.Comment) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
		}
		if err := im.poll(ctx, set, list); err != nil {
			return nil, err
		}
		return set.shortfall(table, someMissing), nil
	}
}

func (im *importer) readBackPrompts(ctx context.Context) (*Shortfall, error) {
	set := newIDSet()
	for src, dst := range im.led.kind("prompt_version") {
		name, _, _ := strings.Cut(src, "\x00")
		set.add(name+"\x00"+dst, strings.ReplaceAll(src, "\x00", " v"))
	}
	err := im.poll(ctx, set, func() error {
		return im.c.ListPrompts(ctx, lf.PromptsQuery{}, func(p []lf.PromptMeta) error {
			for _, m := range p {
				for _, v := range m.Versions {
					set.seen(m.Name + "\x00" + strconv.Itoa(v))
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return set.shortfall("prompts", someMissing), nil
}

func (im *importer) readBackDatasetItems(ctx context.Context) (*Shortfall, error) {
	set := newIDSet()
	datasets := map[string]bool{}
	err := each(ctx, im, func(it *schema.DatasetItem) error {
		set.add(it.ID, it.ID)
		datasets[it.DatasetName] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = im.poll(ctx, set, func() error {
		for _, name := range sortedKeys(datasets) {
			err := im.c.ListDatasetItems(ctx, lf.DatasetItemsQuery{DatasetName: name}, func(p []lf.DatasetItem) error {
				for _, x := range p {
					set.seen(x.ID)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return set.shortfall("dataset_items", someMissing), nil
}

// window widens [from, to) to include t.
func window(from, to *time.Time, t time.Time) {
	if from.IsZero() || t.Before(*from) {
		*from = t
	}
	if end := t.Add(time.Millisecond); to.IsZero() || end.After(*to) {
		*to = end
	}
}

// readBackScores checks every score that was sent (not the skipped ones) by
// id, in the time window of the lake's scores.
func (im *importer) readBackScores(ctx context.Context) (*Shortfall, error) {
	set := newIDSet()
	var from, to time.Time
	err := each(ctx, im, func(s *schema.Score) error {
		if _, skipped := im.led.id(skippedPrefix+"scores", s.ID); skipped {
			return nil
		}
		if _, err := im.scoreEvent(s); err != nil || scoreRefusal(s, im.destConfig(s)) != "" {
			return nil
		}
		set.add(s.ID, s.ID)
		window(&from, &to, s.Timestamp.Truncate(time.Millisecond))
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = im.poll(ctx, set, func() error {
		if im.gen == lf.V3 {
			return im.c.ListScoresV2(ctx, lf.ScoresV2Query{FromTimestamp: from, ToTimestamp: to, Fields: []string{"score"}}, func(p []lf.ScoreV2) error {
				for _, x := range p {
					set.seen(x.ID)
				}
				return nil
			})
		}
		return im.c.ListScoresV3(ctx, lf.ScoresV3Query{FromTimestamp: from, ToTimestamp: to}, func(p []lf.ScoreV3) error {
			for _, x := range p {
				set.seen(x.ID)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return set.shortfall("scores", func(missing map[uint64]string) []string {
		return im.missingIn(ctx, missing, func(fn func(dst, lakeID string)) error {
			return columns(ctx, im, []string{"id"}, func(s *schema.Score) error { fn(s.ID, s.ID); return nil })
		})
	}), nil
}

// readBackObservations checks every observation of the lake by the id it
// has in the destination, in the time window of the lake's observations.
func (im *importer) readBackObservations(ctx context.Context) (*Shortfall, error) {
	set := newIDSet()
	var from, to time.Time
	ids := im.ids()
	err := columns(ctx, im, []string{"id", "start_time", "trace_id", "parent_observation_id", "type"}, func(o *schema.Observation) error {
		if im.gen == lf.V3 && isPlaceholderRoot(o) {
			return nil // carried as its trace: v3 keeps no placeholder rows
		}
		set.add(ids.spanID(o.ID), o.ID)
		window(&from, &to, o.StartTime.Truncate(time.Millisecond))
		return nil
	})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // set is marked from several slices at once
	seen := func(id string) {
		mu.Lock()
		set.seen(id)
		mu.Unlock()
	}
	err = im.poll(ctx, set, func() error {
		return inSlices(ctx, from, to, min(im.o.Concurrency, readBackSlices), func(ctx context.Context, from, to time.Time) error {
			if im.gen == lf.V3 {
				return im.c.ListObservationsV1(ctx, lf.ObservationsV1Query{FromStartTime: from, ToStartTime: to}, func(p []lf.ObservationV1) error {
					for _, x := range p {
						seen(x.ID)
					}
					return nil
				})
			}
			return im.c.ListObservationsV2(ctx, lf.ObservationsV2Query{Fields: []string{"core"}, FromStartTime: from, ToStartTime: to}, func(p []lf.ObservationV2) error {
				for _, x := range p {
					seen(x.ID)
				}
				return nil
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return set.shortfall("observations", func(missing map[uint64]string) []string {
		return im.missingIn(ctx, missing, func(fn func(dst, lakeID string)) error {
			return columns(ctx, im, []string{"id"}, func(o *schema.Observation) error { fn(ids.spanID(o.ID), o.ID); return nil })
		})
	}), nil
}

// readBackSlices is how many parts of its time window the read-back of
// the observations lists at once (at most the import's concurrency): one
// cursor is a request at a time, the server's rendering and the client's
// decoding taking turns (at a million observations 10 s on 2 cores, under
// one of them busy, issue 11).
const readBackSlices = 4

// inSlices calls list for n consecutive parts of [from, to) at once and
// returns the first error. The listing APIs take fromStartTime inclusive and
// toStartTime exclusive (start_time >= and <:
// packages/shared/src/server/queries/public-api-filter-builder.ts), so the
// parts hold each row once.
func inSlices(ctx context.Context, from, to time.Time, n int, list func(ctx context.Context, from, to time.Time) error) error {
	span := to.Sub(from)
	if n <= 1 || span < time.Duration(n)*time.Millisecond {
		return list(ctx, from, to)
	}
	// bound is where part i begins (part i-1 ends).
	bound := func(i int) time.Time {
		switch i {
		case 0:
			return from
		case n:
			return to
		}
		return from.Add(span * time.Duration(i) / time.Duration(n)).Truncate(time.Millisecond)
	}
	g, ctx := errgroup.WithContext(ctx)
	for i := range n {
		a, b := bound(i), bound(i+1)
		g.Go(func() error { return list(ctx, a, b) })
	}
	return g.Wait()
}
