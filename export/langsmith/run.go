package langsmith

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// nInt and nFloat are nullable numbers.
type nInt struct {
	v  int64
	ok bool
}

type nFloat struct {
	v  float64
	ok bool
}

// Indexes of the token and cost columns.
const (
	iTotal = iota
	iPrompt
	iCompletion
)

var (
	tokenCols = [3]string{"total_tokens", "prompt_tokens", "completion_tokens"}
	costCols  = [3]string{"total_cost", "prompt_cost", "completion_cost"}
)

// run is one source row. Text fields are "" when null; JSON fields hold
// JSON text as the file had it. Strings may alias the record's buffers.
type run struct {
	id, tenantID, sessionID, traceID, parentRunID, refExampleID string
	name, runType, status, dottedOrder, traceTier, errText      string
	hasName                                                     bool
	parentRunIDs, inputs, outputs, extra, events, tags, fbStats string
	start, end, firstToken                                      time.Time
	isRoot, hasIsRoot                                           bool
	tokens                                                      [3]nInt
	costs                                                       [3]nFloat
	other                                                       []otherValue
}

// otherValue is a column the converter does not know; text is true when it
// holds plain text rather than JSON.
type otherValue struct {
	name, value string
	text        bool
}

// view reads the rows of one record batch of a file.
type view struct {
	fr                                                                *fileReader
	id, tenant, session, trace, parent, refEx, name, runType, status  textGetter
	dotted, tier, errText                                             textGetter
	parentIDs, inputs, outputs, extra, events, tags, fbStats          jsonGetter
	start, end, firstToken                                            timeGetter
	isRoot                                                            boolGetter
	tokens                                                            [3]intGetter
	costs                                                             [3]floatGetter
	other                                                             []otherGetter
	hasParent, hasIsRoot, hasTrace, hasDotted, hasParentIDs, hasStart bool
	jsonCols                                                          []jsonCol
}

type jsonCol struct {
	get jsonGetter
	dst func(r *run) *string
}

type otherGetter struct {
	name string
	text bool
	get  jsonGetter
}

// newView binds getters to rec, whose columns are (some of) fr's fields.
func newView(fr *fileReader, rec arrow.RecordBatch) *view {
	byName := map[string]arrow.Array{}
	for j, f := range rec.Schema().Fields() {
		byName[f.Name] = rec.Column(j)
	}
	col := func(name string) arrow.Array {
		i, ok := fr.cols[name]
		if !ok {
			return nil
		}
		return byName[fr.sch.Field(i).Name]
	}
	v := &view{fr: fr}
	v.id = textOf(col("id"))
	v.tenant = textOf(col("tenant_id"))
	v.session = textOf(col("session_id"))
	v.trace = textOf(col("trace_id"))
	v.parent = textOf(col("parent_run_id"))
	v.refEx = textOf(col("reference_example_id"))
	v.name = textOf(col("name"))
	v.runType = textOf(col("run_type"))
	v.status = textOf(col("status"))
	v.dotted = textOf(col("dotted_order"))
	v.tier = textOf(col("trace_tier"))
	v.errText = textOf(col("error"))
	v.parentIDs = jsonOf(col("parent_run_ids"), "parent_run_ids")
	v.inputs = jsonOf(col("inputs"), "inputs")
	v.outputs = jsonOf(col("outputs"), "outputs")
	v.extra = jsonOf(col("extra"), "extra")
	v.events = jsonOf(col("events"), "events")
	v.tags = jsonOf(col("tags"), "tags")
	v.fbStats = jsonOf(col("feedback_stats"), "feedback_stats")
	v.start = timeOf(col("start_time"), "start_time")
	v.end = timeOf(col("end_time"), "end_time")
	v.firstToken = timeOf(col("first_token_time"), "first_token_time")
	v.isRoot = boolOf(col("is_root"), "is_root")
	for k := range 3 {
		v.tokens[k] = intOf(col(tokenCols[k]), tokenCols[k])
		v.costs[k] = floatOf(col(costCols[k]), costCols[k])
	}
	v.jsonCols = []jsonCol{
		{v.parentIDs, func(r *run) *string { return &r.parentRunIDs }},
		{v.inputs, func(r *run) *string { return &r.inputs }},
		{v.outputs, func(r *run) *string { return &r.outputs }},
		{v.extra, func(r *run) *string { return &r.extra }},
		{v.events, func(r *run) *string { return &r.events }},
		{v.tags, func(r *run) *string { return &r.tags }},
		{v.fbStats, func(r *run) *string { return &r.fbStats }},
	}
	v.hasParent = col("parent_run_id") != nil
	v.hasIsRoot = col("is_root") != nil
	v.hasTrace = col("trace_id") != nil
	v.hasDotted = col("dotted_order") != nil
	v.hasParentIDs = col("parent_run_ids") != nil
	v.hasStart = col("start_time") != nil
	for _, i := range fr.other {
		name := fr.sch.Field(i).Name
		if a, ok := byName[name]; ok {
			text := isTextType(a.DataType()) && storage(a.DataType()).ID() != arrow.FIXED_SIZE_BINARY
			v.other = append(v.other, otherGetter{name: name, text: text, get: jsonOf(a, name)})
		}
	}
	return v
}

// fill reads row i into r. A value that does not parse is ErrBadRun.
func (v *view) fill(i int, r *run) error {
	if err := v.fillRow(i, r); err != nil {
		if errors.Is(err, ErrBadRun) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrBadRun, err)
	}
	return nil
}

func (v *view) fillRow(i int, r *run) error {
	*r = run{other: r.other[:0]}
	var ok bool
	if r.id, ok = v.id(i); !ok || r.id == "" {
		return fmt.Errorf("%w: id is null", ErrBadRun)
	}
	r.tenantID, _ = v.tenant(i)
	r.sessionID, _ = v.session(i)
	r.traceID, _ = v.trace(i)
	r.parentRunID, _ = v.parent(i)
	r.refExampleID, _ = v.refEx(i)
	r.name, r.hasName = v.name(i)
	r.runType, _ = v.runType(i)
	r.status, _ = v.status(i)
	r.dottedOrder, _ = v.dotted(i)
	r.traceTier, _ = v.tier(i)
	r.errText, _ = v.errText(i)
	var err error
	for _, j := range v.jsonCols {
		if *j.dst(r), _, err = j.get(i); err != nil {
			return err
		}
	}
	if r.start, _, err = v.start(i); err != nil {
		return err
	}
	if r.end, _, err = v.end(i); err != nil {
		return err
	}
	if r.firstToken, _, err = v.firstToken(i); err != nil {
		return err
	}
	if r.isRoot, r.hasIsRoot, err = v.isRoot(i); err != nil {
		return err
	}
	for k := range 3 {
		if r.tokens[k].v, r.tokens[k].ok, err = v.tokens[k](i); err != nil {
			return err
		}
		if r.costs[k].v, r.costs[k].ok, err = v.costs[k](i); err != nil {
			return err
		}
	}
	for _, o := range v.other {
		s, ok, err := o.get(i)
		if err != nil {
			return err
		}
		if ok {
			r.other = append(r.other, otherValue{name: o.name, value: s, text: o.text})
		}
	}
	return nil
}
