package lftest

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Experiments in v4 are rows: every events row that carries an experiment
// id belongs to the experiment, and the UI's numbers aggregate over all of
// them (packages/shared/src/server/queries/clickhouse-sql/
// event-query-builder.ts EXPERIMENTS_AGGREGATION_FIELDS): item count
// uniq(experiment_item_id), error count countIf(level = 'ERROR'), prompts
// groupUniqArrayIf((prompt_name, prompt_version), prompt_name != ''), total
// cost SUM(total_cost), average latency over the rows whose span id is the
// item's root (experiment_item_root_span_id). The SDKs put the attributes on
// every span of an item's run (langfuse-python langfuse/_client/
// propagation.py), so the cost of the whole run counts.

// experimentRow is the experiment part of one events row: what the
// summary aggregates, not the row (the rows live in the spill file, and a
// pointer to the written row would keep its OTLP request body alive).
type experimentRow struct {
	runID, itemID string
	root          bool // the row's span id is the item's root span id
	err           bool // level ERROR
	prompt        string
	cost          float64
	hasCost       bool
	latency       time.Duration
	hasLatency    bool
}

// experimentRows holds the rows of a v4 project that carry experiment
// attributes (OtelIngestionProcessor.ts extractExperimentFields).
type experimentRows struct {
	mu   sync.Mutex
	rows []experimentRow
}

func (p *Project) addExperimentRow(e *experimentLink, o *Observation) {
	r := experimentRow{runID: strings.Clone(e.runID), itemID: strings.Clone(e.itemID), err: o.Level == LevelError,
		root: e.rootSpanID != "" && o.ID == e.rootSpanID}
	if o.PromptName != nil && *o.PromptName != "" {
		v := ""
		if o.PromptVersion != nil {
			v = strconv.Itoa(*o.PromptVersion)
		}
		r.prompt = *o.PromptName + "@" + v
	}
	r.cost, r.hasCost = costTotal(o.CostDetails)
	if r.root && o.EndTime != nil {
		r.latency, r.hasLatency = o.EndTime.Sub(o.StartTime), true
	}
	p.expRows.mu.Lock()
	defer p.expRows.mu.Unlock()
	p.expRows.rows = append(p.expRows.rows, r)
}

// ExperimentSummary is what Langfuse v4 shows for an experiment.
type ExperimentSummary struct {
	Rows       int // rows with the experiment id
	ItemCount  int
	ErrorCount int
	Prompts    []string // name@version, sorted
	TotalCost  float64
	// LatencyAvg is the mean duration of the items' root rows; 0 when none.
	LatencyAvg time.Duration
}

// ExperimentSummary aggregates the rows written with experiment id runID.
func (p *Project) ExperimentSummary(runID string) ExperimentSummary {
	p.expRows.mu.Lock()
	defer p.expRows.mu.Unlock()
	var s ExperimentSummary
	items, prompts := map[string]bool{}, map[string]bool{}
	var lat time.Duration
	var roots int
	for _, r := range p.expRows.rows {
		if r.runID != runID {
			continue
		}
		s.Rows++
		if r.itemID != "" {
			items[r.itemID] = true
		}
		if r.err {
			s.ErrorCount++
		}
		if r.prompt != "" {
			prompts[r.prompt] = true
		}
		if r.hasCost {
			s.TotalCost += r.cost
		}
		if r.hasLatency {
			lat += r.latency
			roots++
		}
	}
	s.ItemCount = len(items)
	for k := range prompts {
		s.Prompts = append(s.Prompts, k)
	}
	slices.Sort(s.Prompts)
	if roots > 0 {
		s.LatencyAvg = lat / time.Duration(roots)
	}
	return s
}
