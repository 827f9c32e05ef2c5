package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/schema"
)

// Limits on what the report tracks, so that memory stays bounded whatever
// the lake holds. Past them, the rest is grouped as Other.
const (
	maxModels      = 40   // models with their own cost series
	maxTypes       = 16   // observation types
	maxLevels      = 8    // observation levels
	maxScoreNames  = 60   // score names with their own distribution
	maxCategories  = 40   // categories tracked per categorical score
	traceNameSlots = 1000 // Space-Saving counters for trace names
	topTraceNames  = 15   // trace names shown
	chartModels    = 8    // models drawn; the rest are summed as Other
	histogramBars  = 24
)

// Names the report gives to groups: everything past a limit, a null name,
// an empty one, and cost without a model.
const (
	Other     = "(other)"
	Unnamed   = "(unnamed)"
	EmptyName = "(empty)"
	NoModel   = "(no model)"
)

// displayName is a name as the page shows it.
func displayName(c stringCol, i int) string {
	switch {
	case !c.IsValid(i):
		return Unnamed
	case c.Value(i) == "":
		return EmptyName
	}
	return c.Value(i)
}

// Levels in the order the report stacks them.
var levelOrder = []string{"DEBUG", "DEFAULT", "WARNING", "ERROR"}

// collector holds the streaming state: per-day aggregates and bounded
// summaries, nothing per row.
type collector struct {
	days       map[string]*dayAgg
	types      *capped
	models     *capped
	levels     *capped
	traceNames *topK
	scores     map[string]*scoreAgg
	scoreOther int64
}

type dayAgg struct {
	traces      int64
	obsByType   [maxTypes + 1]int64
	levels      [maxLevels + 1]int64
	costByModel [maxModels + 1]float64
	tokensIn    int64
	tokensOut   int64
	generations int64
	latency     quantileSketch
	scores      int64
}

// capped gives the first n distinct names an index each and every later
// one the index n (Other).
type capped struct {
	n     int
	index map[string]int
	names []string
}

func newCapped(n int, seed ...string) *capped {
	c := &capped{n: n, index: map[string]int{}}
	for _, s := range seed {
		c.of(s)
	}
	return c
}

func (c *capped) of(s string) int {
	if i, ok := c.index[s]; ok {
		return i
	}
	if len(c.names) >= c.n {
		return c.n
	}
	c.index[s] = len(c.names)
	c.names = append(c.names, s)
	return len(c.names) - 1
}

type scoreAgg struct {
	name      string
	count     int64
	dataTypes map[string]int64 // at most the five Langfuse data types (bounded by the schema's enum)
	numeric   histogram
	cats      *topK
	byDay     map[string]int64
}

func (c *collector) day(d string) *dayAgg {
	a := c.days[d]
	if a == nil {
		a = &dayAgg{}
		c.days[d] = a
	}
	return a
}

// Collect reads the lake once, one streaming pass over the columns it needs
// of the traces, observations and scores tables, and returns the report's
// figures. Memory is bounded by the number of days and the limits above,
// not by the number of rows.
func Collect(ctx context.Context, l *hive.Lake, location string) (*Data, error) {
	c := &collector{
		days:       map[string]*dayAgg{},
		types:      newCapped(maxTypes, "SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"),
		models:     newCapped(maxModels),
		levels:     newCapped(maxLevels, levelOrder...),
		traceNames: newTopK(traceNameSlots),
		scores:     map[string]*scoreAgg{},
	}
	has := map[string]bool{}
	for _, t := range l.Tables() {
		has[t] = true
	}
	if has["traces"] {
		if err := c.scan(ctx, l, "traces", []string{"timestamp", "name"}, c.traces); err != nil {
			return nil, err
		}
	}
	if has["observations"] {
		cols := []string{"type", "start_time", "end_time", "level", "provided_model_name", "usage_details", "total_cost"}
		if err := c.scan(ctx, l, "observations", cols, c.observations); err != nil {
			return nil, err
		}
	}
	if has["scores"] {
		if err := c.scan(ctx, l, "scores", []string{"timestamp", "name", "data_type", "value", "string_value"}, c.scoreRows); err != nil {
			return nil, err
		}
	}
	d := c.data()
	d.Location = location
	d.Glance = glance(l)
	return d, nil
}

// scan streams table's batches with only cols and hands each batch's
// columns, by name, to fn with the batch's partition date.
func (c *collector) scan(ctx context.Context, l *hive.Lake, table string, cols []string, fn func(date string, cols map[string]arrow.Array, n int) error) error {
	err := l.Scan(ctx, table, hive.ScanOptions{Columns: cols}, func(b hive.Batch) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := map[string]arrow.Array{}
		sch := b.Record.Schema()
		for i, f := range sch.Fields() {
			m[f.Name] = b.Record.Column(i)
		}
		for _, name := range cols {
			if m[name] == nil {
				return fmt.Errorf("%s/%s: no column %s", l.Bucket(), b.File.Path, name)
			}
		}
		return fn(b.Partition.Date, m, int(b.Record.NumRows()))
	})
	if err != nil {
		return fmt.Errorf("report: read %s: %w", table, err)
	}
	return nil
}

// dateOf is the row's day: the partition's dt, else its time's UTC date.
func dateOf(partition string, ts *array.Timestamp, i int) string {
	if partition != "" {
		return partition
	}
	if ts == nil || ts.IsNull(i) {
		return "unknown"
	}
	return hive.DateOf(time.UnixMicro(int64(ts.Value(i))))
}

func (c *collector) traces(date string, cols map[string]arrow.Array, n int) error {
	ts, _ := cols["timestamp"].(*array.Timestamp)
	names, err := strings_(cols, "name")
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		c.day(dateOf(date, ts, i)).traces++
		c.traceNames.add(displayName(names, i), 1)
	}
	return nil
}

func (c *collector) observations(date string, cols map[string]arrow.Array, n int) error {
	types, err := strings_(cols, "type")
	if err != nil {
		return err
	}
	levels, err := strings_(cols, "level")
	if err != nil {
		return err
	}
	models, err := strings_(cols, "provided_model_name")
	if err != nil {
		return err
	}
	start, ok1 := cols["start_time"].(*array.Timestamp)
	end, ok2 := cols["end_time"].(*array.Timestamp)
	cost, ok3 := cols["total_cost"].(*array.Float64)
	usage, ok4 := cols["usage_details"].(*array.Map)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("observations: unexpected column types")
	}
	ukeys, ok1 := usage.Keys().(*array.String)
	uvals, ok2 := usage.Items().(*array.Int64)
	if !ok1 || !ok2 {
		return fmt.Errorf("observations: usage_details is %s, want map<string, int64>", usage.DataType())
	}
	for i := 0; i < n; i++ {
		a := c.day(dateOf(date, start, i))
		typ := types.Value(i)
		a.obsByType[c.types.of(typ)]++
		a.levels[c.levels.of(levels.Value(i))]++
		if cost.IsValid(i) {
			model := NoModel
			if models.IsValid(i) {
				model = models.Value(i)
			}
			a.costByModel[c.models.of(model)] += cost.Value(i)
		}
		if usage.IsValid(i) {
			lo, hi := usage.ValueOffsets(i)
			for j := lo; j < hi; j++ {
				k := ukeys.Value(int(j))
				switch {
				case isUsageKind(k, "input"):
					a.tokensIn += uvals.Value(int(j))
				case isUsageKind(k, "output"):
					a.tokensOut += uvals.Value(int(j))
				}
			}
		}
		if typ == "GENERATION" {
			a.generations++
			if end.IsValid(i) && start.IsValid(i) {
				a.latency.add(float64(int64(end.Value(i))-int64(start.Value(i))) / 1000) // µs → ms
			}
		}
	}
	return nil
}

// isUsageKind reports whether a usage_details key counts as kind (input or
// output): the key itself and its breakdowns (input_cached_tokens,
// output_reasoning_tokens, …), as Langfuse's dashboards sum them.
func isUsageKind(key, kind string) bool {
	return key == kind || strings.HasPrefix(key, kind+"_")
}

func (c *collector) scoreRows(date string, cols map[string]arrow.Array, n int) error {
	ts, _ := cols["timestamp"].(*array.Timestamp)
	names, err := strings_(cols, "name")
	if err != nil {
		return err
	}
	dts, err := strings_(cols, "data_type")
	if err != nil {
		return err
	}
	svals, err := strings_(cols, "string_value")
	if err != nil {
		return err
	}
	vals, ok := cols["value"].(*array.Float64)
	if !ok {
		return fmt.Errorf("scores: value is %s, want float64", cols["value"].DataType())
	}
	for i := 0; i < n; i++ {
		d := dateOf(date, ts, i)
		c.day(d).scores++
		name := names.Value(i)
		s := c.scores[name]
		if s == nil {
			if len(c.scores) >= maxScoreNames {
				c.scoreOther++
				continue
			}
			s = &scoreAgg{name: name, dataTypes: map[string]int64{}, cats: newTopK(maxCategories), byDay: map[string]int64{}}
			c.scores[name] = s
		}
		s.count++
		s.byDay[d]++
		dt := dts.Value(i)
		s.dataTypes[dt]++
		switch dt {
		case "NUMERIC":
			if vals.IsValid(i) {
				s.numeric.add(vals.Value(i))
			}
		case "BOOLEAN", "CATEGORICAL":
			v := Unnamed
			if svals.IsValid(i) {
				v = svals.Value(i)
			} else if vals.IsValid(i) {
				v = fmt.Sprint(vals.Value(i))
			}
			s.cats.add(v, 1)
		}
	}
	return nil
}

// stringCol is what strings_ returns: a string column whatever its Arrow
// encoding (plain, large or dictionary-encoded).
type stringCol interface {
	IsValid(int) bool
	Value(int) string
}

type dictStrings struct {
	d    *array.Dictionary
	vals *array.String
}

func (d dictStrings) IsValid(i int) bool { return d.d.IsValid(i) }
func (d dictStrings) Value(i int) string { return d.vals.Value(d.d.GetValueIndex(i)) }

func strings_(cols map[string]arrow.Array, name string) (stringCol, error) {
	switch a := cols[name].(type) {
	case *array.String:
		return a, nil
	case *array.LargeString:
		return a, nil
	case *array.Dictionary:
		if v, ok := a.Dictionary().(*array.String); ok {
			return dictStrings{a, v}, nil
		}
	case array.ExtensionArray:
		if s, ok := a.Storage().(*array.String); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("column %s is %s, want a string", name, cols[name].DataType())
}

// data turns the aggregates into the figures the page draws.
func (c *collector) data() *Data {
	d := &Data{Generated: time.Now().UTC()}
	for day := range c.days {
		d.Days = append(d.Days, day)
	}
	sort.Strings(d.Days)
	nd := len(d.Days)

	// Observations per day by type; types that never occur are left out.
	typeNames := append(append([]string{}, c.types.names...), Other)
	for ti, name := range typeNames {
		s := Series{Name: name, Values: make([]float64, nd)}
		var total int64
		for di, day := range d.Days {
			v := c.days[day].obsByType[ti]
			s.Values[di] = float64(v)
			total += v
		}
		if total > 0 {
			d.ObservationsByType = append(d.ObservationsByType, s)
		}
	}
	d.Traces = make([]int64, nd)
	d.Scores = make([]int64, nd)
	d.Generations = make([]int64, nd)
	d.TokensIn = make([]int64, nd)
	d.TokensOut = make([]int64, nd)
	d.LatencyMs = LatencySeries{P50: make([]*float64, nd), P90: make([]*float64, nd), P99: make([]*float64, nd), Count: make([]int64, nd)}
	for di, day := range d.Days {
		a := c.days[day]
		d.Traces[di] = a.traces
		d.Scores[di] = a.scores
		d.Generations[di] = a.generations
		d.TokensIn[di], d.TokensOut[di] = a.tokensIn, a.tokensOut
		d.LatencyMs.Count[di] = a.latency.n
		if a.latency.n > 0 {
			d.LatencyMs.P50[di] = ptr(a.latency.quantile(0.5))
			d.LatencyMs.P90[di] = ptr(a.latency.quantile(0.9))
			d.LatencyMs.P99[di] = ptr(a.latency.quantile(0.99))
		}
		d.Totals.Traces += a.traces
		d.Totals.Scores += a.scores
		d.Totals.Generations += a.generations
		d.Totals.TokensIn += a.tokensIn
		d.Totals.TokensOut += a.tokensOut
		for _, v := range a.obsByType {
			d.Totals.Observations += v
		}
		for _, v := range a.costByModel {
			d.Totals.CostUSD += v
		}
	}
	d.LatencyMs.RelativeAccuracy = RelativeAccuracy

	// Levels per day: counts, the page draws shares.
	levelNames := append(append([]string{}, c.levels.names...), Other)
	for li, name := range levelNames {
		s := Series{Name: name, Values: make([]float64, nd)}
		var total int64
		for di, day := range d.Days {
			v := c.days[day].levels[li]
			s.Values[di] = float64(v)
			total += v
		}
		if total > 0 || li < len(levelOrder) {
			d.Levels = append(d.Levels, s)
		}
		if name == "ERROR" {
			d.Totals.Errors = total
		}
	}

	// Cost by model: the chartModels costliest models, the rest as Other.
	modelNames := append(append([]string{}, c.models.names...), Other)
	type mt struct {
		i     int
		total float64
	}
	var order []mt
	for mi := range modelNames {
		var t float64
		for _, a := range c.days {
			t += a.costByModel[mi]
		}
		if t != 0 {
			order = append(order, mt{mi, t})
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		if order[a].total != order[b].total {
			return order[a].total > order[b].total
		}
		return modelNames[order[a].i] < modelNames[order[b].i]
	})
	var rest []int
	for k, m := range order {
		if k >= chartModels || modelNames[m.i] == Other {
			rest = append(rest, m.i)
			continue
		}
		s := Series{Name: modelNames[m.i], Values: make([]float64, nd)}
		for di, day := range d.Days {
			s.Values[di] = c.days[day].costByModel[m.i]
		}
		d.CostByModel = append(d.CostByModel, s)
	}
	if len(rest) > 0 {
		s := Series{Name: Other, Values: make([]float64, nd)}
		for di, day := range d.Days {
			for _, mi := range rest {
				s.Values[di] += c.days[day].costByModel[mi]
			}
		}
		for _, mi := range rest {
			s.Members = append(s.Members, modelNames[mi])
		}
		d.CostByModel = append(d.CostByModel, s)
	}

	d.TopTraceNames = c.traceNames.top(topTraceNames)
	d.TraceNamesApproximate = c.traceNames.evicted

	names := make([]string, 0, len(c.scores))
	for n := range c.scores {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.scores[n]
		sd := ScoreData{Name: n, Count: s.count, DataType: mainType(s.dataTypes), PerDay: make([]int64, nd)}
		for di, day := range d.Days {
			sd.PerDay[di] = s.byDay[day]
		}
		if s.numeric.n > 0 {
			sd.Numeric = &NumericSummary{Count: s.numeric.n, Mean: s.numeric.sum / float64(s.numeric.n),
				Min: s.numeric.min, Max: s.numeric.max, Bins: s.numeric.bins(barsFor(s.numeric.n))}
		}
		if len(s.cats.counts) > 0 {
			sd.Categories = s.cats.top(maxCategories)
			sort.SliceStable(sd.Categories, func(a, b int) bool { return sd.Categories[a].Name < sd.Categories[b].Name })
		}
		d.ScoreNames = append(d.ScoreNames, sd)
	}
	d.ScoresOther = c.scoreOther
	return d
}

// barsFor is how many histogram bars n values deserve: Sturges' rule,
// log2(n)+1, between 4 and histogramBars.
func barsFor(n int64) int {
	return min(max(int(math.Ceil(math.Log2(float64(n))))+1, 4), histogramBars)
}

func mainType(m map[string]int64) string {
	best, n := "", int64(-1)
	for k, v := range m {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return best
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// glance summarises the manifests: no data file is read.
func glance(l *hive.Lake) Glance {
	var g Glance
	projects := map[string]bool{}
	for _, m := range l.Manifests {
		r := Run{RunID: m.RunID, Kind: m.Kind, Tool: strings.TrimSpace(m.Tool.Name + " " + m.Tool.Version),
			Source: m.Source, Window: m.Window, Committed: m.CommittedAt, SchemaVersion: m.SchemaVersion, Notes: m.Notes}
		for t, s := range m.Tables {
			r.Rows += s.Rows
			r.Tables = append(r.Tables, t)
		}
		sort.Strings(r.Tables)
		g.Runs = append(g.Runs, r)
		if m.SchemaVersion > g.SchemaVersion {
			g.SchemaVersion = m.SchemaVersion
		}
		key := m.Source.Kind + "|" + m.Source.URL + "|" + m.Source.ProjectID
		if !projects[key] {
			projects[key] = true
			g.Sources = append(g.Sources, m.Source)
		}
	}
	g.ReaderSchemaVersion = schema.Version
	byTable := map[string]*TableInfo{}
	for _, f := range l.Files("") {
		t := byTable[f.Table]
		if t == nil {
			t = &TableInfo{Name: f.Table}
			byTable[f.Table] = t
		}
		t.Rows += f.Rows
		t.Bytes += f.Size
		t.Files++
		if f.MinTime != nil && (g.DataFrom == nil || f.MinTime.Before(*g.DataFrom)) {
			g.DataFrom = f.MinTime
		}
		if f.MaxTime != nil && (g.DataTo == nil || f.MaxTime.After(*g.DataTo)) {
			g.DataTo = f.MaxTime
		}
	}
	for _, name := range l.Tables() {
		t := byTable[name]
		if t == nil {
			t = &TableInfo{Name: name}
		}
		g.Tables = append(g.Tables, *t)
		g.Totals.Rows += t.Rows
		g.Totals.Bytes += t.Bytes
		g.Totals.Files += t.Files
	}
	return g
}
