package selection

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lakefuse/lakefuse/schema"
)

// Filter selects traces. Empty fields are not criteria; values of one field
// are alternatives (any of), fields are all required.
type Filter struct {
	TraceNames       []string `json:"trace_name,omitempty"`
	UserIDs          []string `json:"user_id,omitempty"`
	SessionIDs       []string `json:"session_id,omitempty"`
	TagsAny          []string `json:"tags_any,omitempty"`
	TagsAll          []string `json:"tags_all,omitempty"`
	Environments     []string `json:"environment,omitempty"`
	Releases         []string `json:"release,omitempty"`
	ObservationTypes []string `json:"observation_type,omitempty"`
	Levels           []string `json:"level,omitempty"`
	ScoreNames       []string `json:"score_name,omitempty"`
}

// Criterion names, as the manifest and `lakefuse ls` show them.
const (
	CritTraceName       = "trace_name"
	CritUserID          = "user_id"
	CritSessionID       = "session_id"
	CritTagsAny         = "tags_any"
	CritTagsAll         = "tags_all"
	CritEnvironment     = "environment"
	CritRelease         = "release"
	CritObservationType = "observation_type"
	CritLevel           = "level"
	CritScoreName       = "score_name"
)

// Criterion is one criterion of a filter: its name and values.
type Criterion struct {
	Name   string
	Values []string
}

// slot is one criterion of a filter, set or not: its name and the field
// holding its values.
type slot struct {
	name string
	v    *[]string
}

// slots lists every criterion of f in the fixed order of Criteria: the one
// place that ties a criterion's name to its field.
func (f *Filter) slots() [10]slot {
	return [...]slot{
		{CritTraceName, &f.TraceNames},
		{CritUserID, &f.UserIDs},
		{CritSessionID, &f.SessionIDs},
		{CritTagsAny, &f.TagsAny},
		{CritTagsAll, &f.TagsAll},
		{CritEnvironment, &f.Environments},
		{CritRelease, &f.Releases},
		{CritObservationType, &f.ObservationTypes},
		{CritLevel, &f.Levels},
		{CritScoreName, &f.ScoreNames},
	}
}

// Criteria lists the criteria that are set, in a fixed order.
func (f *Filter) Criteria() []Criterion {
	if f == nil {
		return nil
	}
	var out []Criterion
	for _, c := range f.slots() {
		if len(*c.v) > 0 {
			out = append(out, Criterion{c.name, *c.v})
		}
	}
	return out
}

// Empty reports whether the filter selects every trace.
func (f *Filter) Empty() bool { return len(f.Criteria()) == 0 }

// Map is the filter as criterion → values, for the manifest.
func (f *Filter) Map() map[string][]string {
	c := f.Criteria()
	if len(c) == 0 {
		return nil
	}
	m := map[string][]string{}
	for _, x := range c {
		m[x.Name] = slices.Clone(x.Values)
	}
	return m
}

// FromMap is the inverse of Map.
func FromMap(m map[string][]string) (*Filter, error) {
	f := &Filter{}
	for k, v := range m {
		found := false
		for _, c := range f.slots() {
			if c.name == k {
				*c.v, found = v, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown filter criterion %q", k)
		}
	}
	return f, nil
}

// String is the filter as `lakefuse ls` prints it.
func (f *Filter) String() string {
	var parts []string
	for _, c := range f.Criteria() {
		parts = append(parts, c.Name+"="+strings.Join(c.Values, ","))
	}
	return strings.Join(parts, " ")
}

// Observation types and levels Langfuse knows (upper case in the lake).
var (
	ObservationTypes = []string{"SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"}
	Levels           = []string{"DEBUG", "DEFAULT", "WARNING", "ERROR"}
)

// Normalize upper-cases types and levels, sorts and dedupes every list, and
// reports every invalid value at once.
func (f *Filter) Normalize() error {
	var errs []error
	clean := func(v []string, upper bool) []string {
		var out []string
		for _, s := range v {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if upper {
				s = strings.ToUpper(s)
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	for _, c := range f.slots() {
		*c.v = clean(*c.v, c.name == CritObservationType || c.name == CritLevel)
	}
	for _, t := range f.ObservationTypes {
		if !slices.Contains(ObservationTypes, t) {
			errs = append(errs, fmt.Errorf("observation type %q: use one of %s", t, strings.Join(ObservationTypes, ", ")))
		}
	}
	for _, l := range f.Levels {
		if !slices.Contains(Levels, l) {
			errs = append(errs, fmt.Errorf("level %q: use one of %s", l, strings.Join(Levels, ", ")))
		}
	}
	return errors.Join(errs...)
}

// traceMatch reports which criteria a row's trace attributes meet, as a bit
// set over Criteria(). name, user, session, release are the row's trace
// attributes (nil: none).
func (f *Filter) traceBits(crit []Criterion, name, user, session, release *string, env string, tags []string) uint32 {
	var bits uint32
	for i, c := range crit {
		ok := false
		switch c.Name {
		case CritTraceName:
			ok = in(name, c.Values)
		case CritUserID:
			ok = in(user, c.Values)
		case CritSessionID:
			ok = in(session, c.Values)
		case CritRelease:
			ok = in(release, c.Values)
		case CritEnvironment:
			ok = slices.Contains(c.Values, env)
		case CritTagsAny:
			ok = slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(c.Values, t) })
		case CritTagsAll:
			ok = len(tags) > 0 && !slices.ContainsFunc(c.Values, func(t string) bool { return !slices.Contains(tags, t) })
		}
		if ok {
			bits |= 1 << i
		}
	}
	return bits
}

func in(s *string, values []string) bool { return s != nil && slices.Contains(values, *s) }

// Matcher evaluates a filter over rows of the lake, in any order, and then
// tells which traces are selected. Memory: a few bytes per trace met.
type Matcher struct {
	f    *Filter
	crit []Criterion
	all  uint32
	met  map[string]uint32
}

// NewMatcher returns a matcher for f (which must not be empty).
func NewMatcher(f *Filter) *Matcher {
	c := f.Criteria()
	return &Matcher{f: f, crit: c, all: 1<<len(c) - 1, met: map[string]uint32{}}
}

// Trace notes a trace row.
func (m *Matcher) Trace(t *schema.Trace) {
	m.met[t.ID] |= m.f.traceBits(m.crit, t.Name, t.UserID, t.SessionID, t.Release, t.Environment, t.Tags)
}

// Observation notes an observation row: its own trace context (v4) and its
// type and level.
func (m *Matcher) Observation(o *schema.Observation) {
	if o.TraceID == nil {
		return
	}
	bits := m.f.traceBits(m.crit, o.TraceName, o.UserID, o.SessionID, o.Release, o.Environment, o.Tags)
	for i, c := range m.crit {
		switch c.Name {
		case CritObservationType:
			if slices.Contains(c.Values, o.Type) {
				bits |= 1 << i
			}
		case CritLevel:
			if slices.Contains(c.Values, o.Level) {
				bits |= 1 << i
			}
		}
	}
	m.met[*o.TraceID] |= bits
}

// Score notes a score row.
func (m *Matcher) Score(s *schema.Score) {
	if s.TraceID == nil {
		return
	}
	for i, c := range m.crit {
		if c.Name == CritScoreName && slices.Contains(c.Values, s.Name) {
			m.met[*s.TraceID] |= 1 << i
		}
	}
}

// Meet records that trace meets criterion name (for selections computed by
// server-side filters).
func (m *Matcher) Meet(name, traceID string) {
	for i, c := range m.crit {
		if c.Name == name {
			m.met[traceID] |= 1 << i
		}
	}
}

// Selected returns the ids of the traces that meet every criterion.
func (m *Matcher) Selected() map[string]bool {
	out := map[string]bool{}
	for id, b := range m.met {
		if b == m.all {
			out[id] = true
		}
	}
	return out
}
