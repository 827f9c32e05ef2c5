package lftest

import (
	"slices"
	"strconv"
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

// experimentRow is the experiment part of one events row.
type experimentRow struct {
	runID, itemID, rootSpanID string
	o                         *Observation
}

// experimentRows holds the rows of a v4 project that carry experiment
// attributes (OtelIngestionProcessor.ts extractExperimentFields).
type experimentRows struct {
	mu   sync.Mutex
	rows []experimentRow
}

func (p *Project) addExperimentRow(e *experimentLink, o *Observation) {
	p.expRows.mu.Lock()
	defer p.expRows.mu.Unlock()
	p.expRows.rows = append(p.expRows.rows, experimentRow{runID: e.runID, itemID: e.itemID, rootSpanID: e.rootSpanID, o: o})
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
		if r.o.Level == LevelError {
			s.ErrorCount++
		}
		if r.o.PromptName != nil && *r.o.PromptName != "" {
			v := ""
			if r.o.PromptVersion != nil {
				v = strconv.Itoa(*r.o.PromptVersion)
			}
			prompts[*r.o.PromptName+"@"+v] = true
		}
		if c, ok := costTotal(r.o.CostDetails); ok {
			s.TotalCost += c
		}
		if r.rootSpanID != "" && r.o.ID == r.rootSpanID && r.o.EndTime != nil {
			lat += r.o.EndTime.Sub(r.o.StartTime)
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
