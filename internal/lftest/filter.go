package lftest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// filterCond is one condition of the `filter` query parameter (a JSON array).
type filterCond struct {
	Type     string          `json:"type"`
	Column   string          `json:"column"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
	Key      string          `json:"key"`
}

var filterOperators = map[string][]string{
	"datetime":        {">", "<", ">=", "<="},
	"string":          {"=", "contains", "does not contain", "starts with", "ends with", "matches"},
	"stringOptions":   {"any of", "none of"},
	"categoryOptions": {"any of", "none of"},
	"arrayOptions":    {"any of", "none of", "all of"},
	"number":          {"=", ">", "<", ">=", "<="},
	"stringObject":    {"=", "contains", "does not contain", "starts with", "ends with", "matches"},
	"numberObject":    {"=", ">", "<", ">=", "<="},
	"boolean":         {"=", "<>"},
	"null":            {"is null", "is not null"},
}

// column reads a column of a row for filtering: a string, *string,
// time.Time, *time.Time, float64, *float64, bool, []string or
// map[string]string (metadata).
type column[R any] func(R) any

// parseFilter parses and checks the filter parameter against the columns a
// route supports.
func parseFilter[R any](raw string, cols map[string]column[R]) ([]filterCond, error) {
	if raw == "" {
		return nil, nil
	}
	var conds []filterCond
	if err := json.Unmarshal([]byte(raw), &conds); err != nil {
		return nil, badRequest("Invalid JSON in filter parameter")
	}
	for i, c := range conds {
		ops, ok := filterOperators[c.Type]
		if !ok {
			return nil, zodError(issueEnum(fmt.Sprintf("filter[%d].type", i), sortedKeys(filterOperators), c.Type))
		}
		if !slices.Contains(ops, c.Operator) {
			return nil, zodError(issueEnum(fmt.Sprintf("filter[%d].operator", i), ops, c.Operator))
		}
		if _, ok := cols[c.Column]; !ok {
			return nil, badRequest(fmt.Sprintf("Invalid filter column: %s", c.Column))
		}
		if c.Type != "null" && len(c.Value) == 0 {
			return nil, zodError(issueCustom(fmt.Sprintf("filter[%d].value", i), "Required"))
		}
	}
	return conds, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// matchFilter reports whether row satisfies every condition.
func matchFilter[R any](row R, conds []filterCond, cols map[string]column[R]) bool {
	for _, c := range conds {
		if !matchCond(cols[c.Column](row), c) {
			return false
		}
	}
	return true
}

func deref(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case *string:
		if x == nil {
			return nil, false
		}
		return *x, true
	case *time.Time:
		if x == nil {
			return nil, false
		}
		return *x, true
	case *float64:
		if x == nil {
			return nil, false
		}
		return *x, true
	}
	return v, true
}

func matchCond(v any, c filterCond) bool {
	v, present := deref(v)
	if c.Type == "null" {
		return (c.Operator == "is null") == !present
	}
	switch c.Type {
	case "datetime":
		var s string
		if json.Unmarshal(c.Value, &s) != nil {
			return false
		}
		want, err := parseTime(s)
		t, ok := v.(time.Time)
		if err != nil || !ok {
			return false
		}
		return cmpOp(c.Operator, float64(t.UnixMilli()), float64(want.UnixMilli()))
	case "string":
		s, _ := v.(string)
		var want string
		if json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		return stringOp(c.Operator, s, want, present)
	case "stringOptions", "categoryOptions":
		var want []string
		if json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		if c.Type == "categoryOptions" && c.Key != "" {
			m, _ := v.(map[string]string)
			v = m[c.Key]
		}
		s, _ := v.(string)
		in := present && slices.Contains(want, s)
		return in == (c.Operator == "any of")
	case "arrayOptions":
		var want []string
		if json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		have, _ := v.([]string)
		switch c.Operator {
		case "any of":
			return slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
		case "none of":
			return !slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
		}
		return hasAllTags(have, want)
	case "number":
		f, ok := v.(float64)
		var want float64
		if !ok || json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		return cmpOp(c.Operator, f, want)
	case "stringObject", "numberObject":
		m, _ := v.(map[string]string)
		s, has := m[c.Key]
		if c.Type == "stringObject" {
			var want string
			if json.Unmarshal(c.Value, &want) != nil {
				return false
			}
			return stringOp(c.Operator, s, want, has)
		}
		f, err := strconv.ParseFloat(s, 64)
		var want float64
		if !has || err != nil || json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		return cmpOp(c.Operator, f, want)
	case "boolean":
		b, _ := v.(bool)
		var want bool
		if json.Unmarshal(c.Value, &want) != nil {
			return false
		}
		return (b == want) == (c.Operator == "=")
	}
	return false
}

func cmpOp(op string, a, b float64) bool {
	switch op {
	case "=":
		return a == b
	case ">":
		return a > b
	case "<":
		return a < b
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	}
	return false
}

func stringOp(op, s, want string, present bool) bool {
	switch op {
	case "=":
		return present && s == want
	case "contains":
		return present && strings.Contains(s, want)
	case "does not contain":
		return !strings.Contains(s, want)
	case "starts with":
		return present && strings.HasPrefix(s, want)
	case "ends with":
		return present && strings.HasSuffix(s, want)
	case "matches":
		return present && containsFold(s, want)
	}
	return false
}
