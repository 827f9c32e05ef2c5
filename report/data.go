package report

import (
	"time"

	"github.com/lakefuse/lakefuse/hive"
)

// Data is everything the page shows, computed by Collect. It is embedded
// in the page as JSON; the page's script draws the charts from it.
type Data struct {
	Generated time.Time `json:"generated"`
	Tool      string    `json:"tool,omitempty"`
	Location  string    `json:"location"`
	Glance    Glance    `json:"glance"`
	Totals    Totals    `json:"totals"`

	// Days are the UTC dates (the dt partitions) that hold rows, in order;
	// every per-day slice below is indexed like Days.
	Days               []string      `json:"days"`
	Traces             []int64       `json:"traces"`
	ObservationsByType []Series      `json:"observations_by_type"`
	Generations        []int64       `json:"generations"`
	CostByModel        []Series      `json:"cost_by_model"` // USD, from total_cost
	TokensIn           []int64       `json:"tokens_in"`
	TokensOut          []int64       `json:"tokens_out"`
	LatencyMs          LatencySeries `json:"latency_ms"`
	Levels             []Series      `json:"levels"` // observation counts by level
	Scores             []int64       `json:"scores"`

	TopTraceNames         []NameCount `json:"top_trace_names"`
	TraceNamesApproximate bool        `json:"trace_names_approximate,omitempty"`
	ScoreNames            []ScoreData `json:"score_names"`
	ScoresOther           int64       `json:"scores_other,omitempty"` // scores of names past the limit

	Comparison *Result `json:"comparison,omitempty"`
}

// Series is one named line or stack of a per-day chart.
type Series struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
	// Members are the names an Other series groups.
	Members []string `json:"members,omitempty"`
}

// LatencySeries are generation latency percentiles per day, in
// milliseconds (end_time − start_time), nil on days without generations
// that ended. Each is within RelativeAccuracy of the exact quantile (rank
// ⌈q·n⌉−1, DuckDB's quantile_disc).
type LatencySeries struct {
	P50              []*float64 `json:"p50"`
	P90              []*float64 `json:"p90"`
	P99              []*float64 `json:"p99"`
	Count            []int64    `json:"count"`
	RelativeAccuracy float64    `json:"relative_accuracy"`
}

// Totals are the headline figures.
type Totals struct {
	Traces       int64   `json:"traces"`
	Observations int64   `json:"observations"`
	Generations  int64   `json:"generations"`
	Errors       int64   `json:"errors"`
	Scores       int64   `json:"scores"`
	CostUSD      float64 `json:"cost_usd"`
	TokensIn     int64   `json:"tokens_in"`
	TokensOut    int64   `json:"tokens_out"`
}

// ScoreData summarises one score name.
type ScoreData struct {
	Name     string  `json:"name"`
	DataType string  `json:"data_type"` // the most common one
	Count    int64   `json:"count"`
	PerDay   []int64 `json:"per_day"`
	// Numeric is the distribution of NUMERIC values.
	Numeric *NumericSummary `json:"numeric,omitempty"`
	// Categories count BOOLEAN and CATEGORICAL string values.
	Categories []NameCount `json:"categories,omitempty"`
}

// NumericSummary is a numeric score's distribution: exact counts in bins
// [Lo, Hi) of equal, power-of-two width.
type NumericSummary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Bins  []Bin   `json:"bins"`
}

// Glance describes the lake from its manifests.
type Glance struct {
	Sources             []hive.Source `json:"sources"`
	Runs                []Run         `json:"runs"`
	Tables              []TableInfo   `json:"tables"`
	Totals              TableInfo     `json:"totals"`
	SchemaVersion       int           `json:"schema_version"`
	ReaderSchemaVersion int           `json:"reader_schema_version"`
	// DataFrom and DataTo bound the rows' own times (from the manifests).
	DataFrom *time.Time `json:"data_from,omitempty"`
	DataTo   *time.Time `json:"data_to,omitempty"`
}

// Run is one committed run.
type Run struct {
	RunID         string            `json:"run_id"`
	Kind          string            `json:"kind"`
	Tool          string            `json:"tool"`
	Source        hive.Source       `json:"source"`
	Window        hive.Window       `json:"window"`
	Committed     time.Time         `json:"committed"`
	SchemaVersion int               `json:"schema_version"`
	Tables        []string          `json:"tables"`
	Rows          int64             `json:"rows"`
	Notes         map[string]string `json:"notes,omitempty"`
}

// TableInfo is one table's live files.
type TableInfo struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	Files int    `json:"files"`
}
