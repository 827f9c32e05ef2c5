package lftest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrReadOnly is returned by the write methods of a lazily generated project,
// whose tracing data is regenerated on demand and cannot change.
var ErrReadOnly = errors.New("lftest: project is lazily generated and read-only")

// Project is the in-memory store of one Langfuse project.
//
// Tracing data follows the Langfuse v4 events model: observations are the
// rows, and the trace-level attributes that v4 denormalises onto every row
// are kept once per trace id in a Trace and joined when a row is served. v3
// traces and sessions are read from the same Trace records, so both read APIs
// always agree. A write side adds data with UpsertTrace (merging attributes
// as later spans do) and AddObservations (no deduplication, as in v4).
//
// All other entities are plain lists. A Project is safe for concurrent use;
// values passed to the Add methods must not be modified afterwards.
type Project struct {
	ID            string
	Name          string
	Metadata      map[string]any
	RetentionDays *int

	mu           sync.RWMutex
	mem          *memTracing
	lazy         *lazyTracing
	sessions     map[string]*Session
	scores       []*Score
	scoreIdx     map[string]int
	scoreStrs    map[string]*string // interned score values (internScore)
	sidx         *scoreIndex        // derived; nil after a write
	prompts      []*PromptVersion
	scoreConfigs []*ScoreConfig
	models       []*Model
	datasets     []*Dataset
	items        []*DatasetItem
	runs         []*DatasetRun
	runItems     []*DatasetRunItem
	comments     []*Comment
	queues       []*AnnotationQueue
	queueItems   []*AnnotationQueueItem
	media        map[string]*Media
	legacy       legacyTraces   // v3 trace-create events (h_legacy.go)
	expRows      experimentRows // v4 rows with experiment attributes (otlp.go)
}

// NewProject returns an empty, writable project.
func NewProject(id, name string) *Project {
	return &Project{ID: id, Name: name, Metadata: map[string]any{}, mem: newMemTracing(),
		sessions: map[string]*Session{}, media: map[string]*Media{}, scoreIdx: map[string]int{}}
}

// tr returns the project's tracing data for one read.
func (p *Project) tr() tracing {
	if p.lazy != nil {
		return p.lazy
	}
	return p.mem.snapshot()
}

// trFor returns the tracing data as a server of the mode serves it: v3 has
// no placeholder roots (memSnap.v3).
func (p *Project) trFor(m Mode) tracing {
	if p.lazy == nil && m == V3 {
		return p.mem.snapshot().v3()
	}
	return p.tr()
}

// Lazy reports whether the project's tracing data is regenerated on demand.
func (p *Project) Lazy() bool { return p.lazy != nil }

// UpsertTrace stores trace attributes, merging them into an existing trace
// with the same id. A trace with a session id creates the session.
func (p *Project) UpsertTrace(t *Trace) error {
	if p.lazy != nil {
		return ErrReadOnly
	}
	if t.ID == "" {
		return errors.New("lftest: upsert trace: empty id")
	}
	if err := p.mem.upsertTrace(t); err != nil {
		return err
	}
	if t.SessionID != nil && *t.SessionID != "" {
		p.mu.Lock()
		s, ok := p.sessions[*t.SessionID]
		created := t.Timestamp
		if created.IsZero() {
			created = t.CreatedAt
		}
		if !ok {
			// Own copies: the strings may point into an OTLP request body.
			id := strings.Clone(*t.SessionID)
			p.sessions[id] = &Session{ID: id, CreatedAt: created, Environment: strings.Clone(envOr(t.Environment))}
		} else if created.Before(s.CreatedAt) {
			cp := *s
			cp.CreatedAt = created
			p.sessions[s.ID] = &cp
		}
		p.mu.Unlock()
	}
	return nil
}

// AddObservations appends observations. Their traces should exist (UpsertTrace).
func (p *Project) AddObservations(obs ...*Observation) error {
	if p.lazy != nil {
		return ErrReadOnly
	}
	for _, o := range obs {
		if o.ID == "" || o.TraceID == "" {
			return fmt.Errorf("lftest: add observation %q: id and trace id are required", o.ID)
		}
		o.StartTime = o.StartTime.UTC().Truncate(time.Millisecond)
	}
	return p.mem.addObservations(obs...)
}

func envOr(e string) string {
	if e == "" {
		return "default"
	}
	return e
}

func add[T any](p *Project, list *[]*T, v ...*T) {
	p.mu.Lock()
	*list = append(*list, v...)
	p.mu.Unlock()
}

// AddScores stores scores; a score with the id of a stored score replaces it,
// as score ingestion upserts by id.
func (p *Project) AddScores(scores ...*Score) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range scores {
		p.internScore(s)
		packScore(s)
		if i, ok := p.scoreIdx[s.ID]; ok {
			p.scores[i] = s
			continue
		}
		p.scoreIdx[s.ID] = len(p.scores)
		p.scores = append(p.scores, s)
	}
	p.sidx = nil
}

// internScore makes s share the one stored copy of the values scores
// repeat (names, sources, environments, configs, queues, authors, labels,
// comments): a project of a million observations holds ~50,000 scores, and
// a string each from the JSON of their requests (issue 11). p.mu is held.
// Stored scores are never changed in place, so sharing is safe.
func (p *Project) internScore(s *Score) {
	if p.scoreStrs == nil {
		p.scoreStrs = map[string]*string{}
	}
	// Only short values, and only so many: unique texts gain nothing.
	in := func(v *string) *string {
		if q, ok := p.scoreStrs[*v]; ok {
			return q
		}
		if len(*v) > 64 || len(p.scoreStrs) >= 1<<16 {
			return v
		}
		c := strings.Clone(*v)
		p.scoreStrs[c] = &c
		return &c
	}
	for _, f := range []*string{&s.Name, &s.DataType, &s.Source, &s.Environment} {
		*f = *in(f)
	}
	for _, f := range []**string{&s.ConfigID, &s.QueueID, &s.AuthorUserID, &s.StringValue, &s.Comment} {
		if *f != nil {
			*f = in(*f)
		}
	}
}

// packScore puts the values of s that internScore does not share into one
// string and the strings its pointer fields point to into one slice: a
// score is then three objects rather than up to twenty, which is what the
// garbage collector visits (at a million observations the destination's ~50,000
// scores were half the live objects of the demo's read-back, issue 11).
// Stored scores are never changed in place.
func packScore(s *Score) {
	ptrs := [...]**string{&s.TraceID, &s.ObservationID, &s.SessionID, &s.DatasetRunID, &s.Comment, &s.StringValue}
	var refs [len(ptrs)]*string // the values packed
	n, k := len(s.ID)+len(s.Metadata.text), 0
	for i, f := range ptrs {
		// Short comments and string values are internScore's to share.
		if v := *f; v != nil && (i < 4 || len(*v) > 64) {
			refs[i] = v
			n += len(*v)
			k++
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(s.ID)
	for _, v := range refs {
		if v != nil {
			b.WriteString(*v)
		}
	}
	b.WriteString(s.Metadata.text)
	all := b.String()
	take := func(k int) string {
		v := all[:k]
		all = all[k:]
		return v
	}
	s.ID = take(len(s.ID))
	own := make([]string, 0, k)
	for i, v := range refs {
		if v != nil {
			own = append(own, take(len(*v)))
			*ptrs[i] = &own[len(own)-1]
		}
	}
	s.Metadata.text = take(len(s.Metadata.text))
}

// scoreIndex is the scores sorted as the list APIs return them (timestamp
// DESC, id DESC), and the same order grouped by trace id (the scores
// without a trace left out): one list instead of a slice per trace.
type scoreIndex struct {
	sorted  []*Score
	byTrace []*Score
}

// ofTrace returns the scores of trace id in list order.
func (ix *scoreIndex) ofTrace(id string) []*Score {
	i, _ := slices.BinarySearchFunc(ix.byTrace, id, func(s *Score, id string) int { return strings.Compare(*s.TraceID, id) })
	j := i
	for j < len(ix.byTrace) && *ix.byTrace[j].TraceID == id {
		j++
	}
	return ix.byTrace[i:j]
}

func (p *Project) scoreIndex() *scoreIndex {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sidx != nil {
		return p.sidx
	}
	ix := &scoreIndex{sorted: slices.Clone(p.scores)}
	slices.SortFunc(ix.sorted, func(a, b *Score) int {
		if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
			return c
		}
		return cmpStr(b.ID, a.ID)
	})
	for _, s := range ix.sorted {
		if s.TraceID != nil {
			ix.byTrace = append(ix.byTrace, s)
		}
	}
	slices.SortStableFunc(ix.byTrace, func(a, b *Score) int { return strings.Compare(*a.TraceID, *b.TraceID) })
	p.sidx = ix
	return ix
}

// AddSession stores a session explicitly (sessions normally come from traces).
func (p *Project) AddSession(s *Session) {
	p.mu.Lock()
	p.sessions[s.ID] = s
	p.mu.Unlock()
}

// AddPromptVersion stores a prompt version as given: the caller sets version,
// labels and tags.
func (p *Project) AddPromptVersion(v *PromptVersion) { add(p, &p.prompts, v) }

// AddScoreConfig stores a score config.
func (p *Project) AddScoreConfig(c *ScoreConfig) { add(p, &p.scoreConfigs, c) }

// AddModel stores a model.
func (p *Project) AddModel(m *Model) { add(p, &p.models, m) }

// AddDataset stores a dataset.
func (p *Project) AddDataset(d *Dataset) { add(p, &p.datasets, d) }

// AddDatasetItems stores dataset items.
func (p *Project) AddDatasetItems(items ...*DatasetItem) { add(p, &p.items, items...) }

// AddDatasetRun stores a run and its items.
func (p *Project) AddDatasetRun(r *DatasetRun, items ...*DatasetRunItem) {
	add(p, &p.runs, r)
	add(p, &p.runItems, items...)
}

// AddComments stores comments.
func (p *Project) AddComments(c ...*Comment) { add(p, &p.comments, c...) }

// AddAnnotationQueue stores a queue and its items.
func (p *Project) AddAnnotationQueue(q *AnnotationQueue, items ...*AnnotationQueueItem) {
	add(p, &p.queues, q)
	add(p, &p.queueItems, items...)
}

// AddMedia stores bytes as a media object and returns it; its id is MediaID(b).
func (p *Project) AddMedia(contentType string, b []byte, uploadedAt time.Time) *Media {
	m := &Media{ID: MediaID(b), ContentType: contentType, Bytes: b, UploadedAt: uploadedAt.UTC()}
	p.mu.Lock()
	p.media[m.ID] = m
	p.mu.Unlock()
	return m
}

// MediaID is Langfuse's media id of b: the first 22 characters of the
// URL-safe base64 SHA-256 of the bytes.
func MediaID(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])[:22]
}

// MediaReference is the token Langfuse puts into input, output or metadata in
// place of a media object.
func MediaReference(m *Media, source string) string {
	return "@@@langfuseMedia:type=" + m.ContentType + "|id=" + m.ID + "|source=" + source + "@@@"
}

// ExperimentID is Langfuse v4's stable experiment (dataset run) id:
// sha256(JSON(["langfuse-experiment-v1", projectId, datasetId, runName])) in
// hex, first 16 characters (createStableExperimentId).
func ExperimentID(projectID, datasetID, runName string) string {
	b, _ := marshalJSON([]string{"langfuse-experiment-v1", projectID, datasetID, runName})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Counts is the number of rows of each entity.
type Counts struct {
	Traces, Observations, Scores, Sessions, PromptVersions, ScoreConfigs, Models int
	Datasets, DatasetItems, DatasetRuns, DatasetRunItems, Comments               int
	AnnotationQueues, AnnotationQueueItems, Media                                int
}

// Counts returns the number of rows of each entity.
func (p *Project) Counts() Counts {
	tr := p.tr()
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Counts{Traces: tr.traceLen(), Observations: tr.obsLen(), Scores: len(p.scores), Sessions: len(p.sessions),
		PromptVersions: len(p.prompts), ScoreConfigs: len(p.scoreConfigs), Models: len(p.models),
		Datasets: len(p.datasets), DatasetItems: len(p.items), DatasetRuns: len(p.runs), DatasetRunItems: len(p.runItems),
		Comments: len(p.comments), AnnotationQueues: len(p.queues), AnnotationQueueItems: len(p.queueItems), Media: len(p.media)}
}

// EachObservation calls fn for every observation, with its trace, in the
// canonical v2 order until fn returns false.
func (p *Project) EachObservation(fn func(*Observation, *Trace) bool) {
	tr := p.tr()
	for i, n := 0, tr.obsLen(); i < n; i++ {
		o := tr.obsAt(i)
		if !fn(o, tr.trace(o.TraceID)) {
			return
		}
	}
}

// EachTrace calls fn for every trace, newest first, until fn returns false.
func (p *Project) EachTrace(fn func(*Trace) bool) {
	tr := p.tr()
	for i, n := 0, tr.traceLen(); i < n; i++ {
		if !fn(tr.traceAt(i)) {
			return
		}
	}
}

// Trace returns the trace with the id, or nil.
func (p *Project) Trace(id string) *Trace { return p.tr().trace(id) }

// TraceObservations returns the observations of a trace in canonical order.
func (p *Project) TraceObservations(id string) []*Observation { return p.tr().traceObservations(id) }

// snapshot returns a copy of the list *list, read under the project's lock
// (the field too: a writer may be appending to it).
func snapshot[T any](p *Project, list *[]*T) []*T {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(*list)
}

// Scores returns the stored scores.
func (p *Project) Scores() []*Score { return snapshot(p, &p.scores) }

// Prompts returns every prompt version.
func (p *Project) Prompts() []*PromptVersion { return snapshot(p, &p.prompts) }

// ScoreConfigs returns the score configs.
func (p *Project) ScoreConfigs() []*ScoreConfig { return snapshot(p, &p.scoreConfigs) }

// Models returns custom and Langfuse-managed models.
func (p *Project) Models() []*Model { return snapshot(p, &p.models) }

// Datasets returns the datasets.
func (p *Project) Datasets() []*Dataset { return snapshot(p, &p.datasets) }

// DatasetItems returns the items of all datasets.
func (p *Project) DatasetItems() []*DatasetItem { return snapshot(p, &p.items) }

// DatasetRuns returns the runs of all datasets.
func (p *Project) DatasetRuns() []*DatasetRun { return snapshot(p, &p.runs) }

// DatasetRunItems returns the run items of all runs.
func (p *Project) DatasetRunItems() []*DatasetRunItem { return snapshot(p, &p.runItems) }

// Comments returns the comments.
func (p *Project) Comments() []*Comment { return snapshot(p, &p.comments) }

// AnnotationQueues returns the annotation queues.
func (p *Project) AnnotationQueues() []*AnnotationQueue { return snapshot(p, &p.queues) }

// AnnotationQueueItems returns the items of all queues.
func (p *Project) AnnotationQueueItems() []*AnnotationQueueItem { return snapshot(p, &p.queueItems) }

// Sessions returns the sessions, oldest first.
func (p *Project) Sessions() []*Session {
	p.mu.RLock()
	out := make([]*Session, 0, len(p.sessions))
	for _, s := range p.sessions {
		out = append(out, s)
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmpStr(a.ID, b.ID)
	})
	return out
}

// Media returns the media object with the id, or nil.
func (p *Project) Media(id string) *Media {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.media[id]
}

// MediaList returns every media object.
func (p *Project) MediaList() []*Media {
	p.mu.RLock()
	out := make([]*Media, 0, len(p.media))
	for _, m := range p.media {
		out = append(out, m)
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Media) int { return cmpStr(a.ID, b.ID) })
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Close releases what the project keeps outside the Go heap (the file its
// observations are spilled to); the project must not be read afterwards.
func (p *Project) Close() error {
	if p.mem == nil {
		return nil
	}
	return p.mem.close()
}
