package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	"github.com/lakefuse/lakefuse/internal/jsonx"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// Comparing a lake with a live project: the live project is exported into a
// scratch lake and the two are compared table by table, by row count and by
// a hash per row of the fields that must survive. Against the destination of
// an import, ids are mapped as the importer maps them and the fields the
// destination assigns or derives (docs/migration.md) are left out.

// destinationAssigned are the columns an import cannot carry over, per table
// ("*" for every table). See docs/migration.md.

var destinationAssigned = map[string][]string{
	"*":                      {"id", "created_at", "updated_at"},
	"traces":                 {"html_path", "name", "environment", "latency", "total_cost", "bookmarked"},
	"observations":           {"end_time", "environment", "name", "metadata", "model_id", "model_parameters", "input_price", "output_price", "total_price", "usage_pricing_tier_id", "usage_pricing_tier_name", "prompt_id", "latency", "trace_name", "version", "calculated_input_cost", "calculated_output_cost", "calculated_total_cost", "usage", "total_cost", "bookmarked", "is_root_observation"},
	"scores":                 {"author_user_id", "config_id", "queue_id", "dataset_run_id", "environment"},
	"sessions":               {"environment"},
	"prompts":                {"created_by"},
	"models":                 {"pricing_tiers"},
	"dataset_items":          {"dataset_id"},
	"dataset_runs":           {"dataset_id", "start_time", "end_time", "item_count"},
	"dataset_run_items":      {"dataset_id", "dataset_run_id", "experiment_item_version"},
	"comments":               {"author_user_id", "object_id"},
	"annotation_queues":      {"score_config_ids"},
	"annotation_queue_items": {"queue_id", "completed_at"},
	"media":                  {"uploaded_at"},
}

// sourceVolatile are columns that change in a live project without any
// change to the data (Langfuse recomputes them).
var sourceVolatile = map[string][]string{
	"*":                 {"updated_at"},
	"traces":            {"latency", "total_cost"},
	"dataset_runs":      {"start_time", "end_time", "item_count"},
	"media":             {"path"},
	"prompts":           {"labels"},
	"datasets":          {},
	"dataset_items":     {},
	"score_configs":     {},
	"observations":      {},
	"scores":            {},
	"annotation_queues": {},
}

// expectStored rewrites a lake row (by column, as flatten gives it) into
// what a real Langfuse stores when the importer sends it: a `tools` array in
// an observation's metadata moves into its input
// (lftest.ToolsIntoInput, after extractToolsBackend.ts). The metadata
// itself is not compared against a destination (the destination adds and
// flattens keys: docs/migration.md), so it is left as it is.
func expectStored(table string, r map[string]string) {
	if table != "observations" {
		return
	}
	md := r["metadata"]
	if md == "<null>" || !strings.HasPrefix(strings.TrimSpace(md), "{") {
		return
	}
	var in *string
	if s, ok := r["input"]; ok && s != "<null>" {
		sent := sentIO(s)
		in = &sent
	}
	if newIn, _, ok := lftest.ToolsIntoInput(in, md); ok {
		r["input"] = newIn
	}
}

// expectation returns what expectStored does to the rows of table, plus,
// for traces imported into a Langfuse v4 destination (live's newest run
// read a v4 API), the trace input: v4 takes it from the root observation,
// whose input ingestion may reshape. It reads the lake's root observations
// once and keeps the predicted input of the traces whose root changes.
func expectation(ctx context.Context, lake, live *hive.Lake, table string) (func(map[string]string), error) {
	if table != "traces" || !v4Lake(live) {
		return func(r map[string]string) { expectStored(table, r) }, nil
	}
	roots := map[string]string{}
	tb := schema.Observations
	err := lake.Scan(ctx, tb.Name, hive.ScanOptions{Columns: []string{"trace_id", "parent_observation_id", "input", "metadata"}}, func(b hive.Batch) error {
		d, err := schema.NewDecoder(tb, b.Record.Schema())
		if err != nil {
			return err
		}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			var o schema.Observation
			if err := d.Decode(b.Record, i, &o); err != nil {
				return err
			}
			if o.ParentObservationID != nil || o.TraceID == nil || o.Metadata == nil {
				continue
			}
			r := map[string]string{"input": "<null>", "metadata": *o.Metadata}
			if o.Input != nil {
				r["input"] = *o.Input
			}
			before := r["input"]
			if expectStored("observations", r); r["input"] != before {
				roots[*o.TraceID] = r["input"]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the lake's root observations: %w", err)
	}
	return func(r map[string]string) {
		if in, ok := roots[r["id"]]; ok {
			r["input"] = in
		}
	}, nil
}

// v4Lake reports whether the newest run of l read a Langfuse v4 API.
func v4Lake(l *hive.Lake) bool {
	var v string
	var at time.Time
	for _, m := range l.Manifests {
		if v == "" || m.CommittedAt.After(at) {
			v, at = m.Source.ServerVersion, m.CommittedAt
		}
	}
	return v == "v4"
}

// sentIO is the attribute text the importer sends for a lake input: a JSON
// string's content unless that content is itself JSON (importer ioText).
func sentIO(lake string) string {
	if len(lake) >= 2 && lake[0] == '"' {
		var s string
		if json.Unmarshal([]byte(lake), &s) == nil && !json.Valid([]byte(s)) {
			return s
		}
	}
	return lake
}

// idColumns are the columns that hold trace and observation ids, with the
// mapping import --rewrite-ids applies (without it, ids travel verbatim).
var idColumns = map[string]func(string) string{
	"trace_id": importer.RewriteTraceID, "source_trace_id": importer.RewriteTraceID,
	"parent_observation_id": importer.RewriteSpanID, "observation_id": importer.RewriteSpanID, "source_observation_id": importer.RewriteSpanID,
}

// flatten turns a row into printable values by column name.
func flatten(v reflect.Value) map[string]string {
	m := map[string]string{}
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("lake"), ",")
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				m[name] = "<null>"
				continue
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.Map {
			keys := f.MapKeys()
			sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%v=%v", k, f.MapIndex(k)))
			}
			m[name] = "{" + strings.Join(parts, ",") + "}"
			continue
		}
		m[name] = sprint(f)
	}
	return m
}

var (
	stringType = reflect.TypeFor[string]()
	int64Type  = reflect.TypeFor[int64]()
	intType    = reflect.TypeFor[int]()
	boolType   = reflect.TypeFor[bool]()
	timeType   = reflect.TypeFor[time.Time]()
)

// sprint is fmt.Sprint(f.Interface()) without its reflection for the
// common column types.
func sprint(f reflect.Value) string {
	switch f.Type() {
	case stringType:
		return f.String()
	case int64Type, intType:
		return strconv.FormatInt(f.Int(), 10)
	case boolType:
		return strconv.FormatBool(f.Bool())
	case timeType:
		return f.Interface().(time.Time).String()
	}
	return fmt.Sprint(f.Interface())
}

// canonical normalises JSON text so that key order is not a difference:
// the text json.Marshal writes for what json.Unmarshal reads from s.
func canonical(s string) string {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		if b, ok := appendCanonical(nil, s); ok {
			return string(b)
		}
		return slowCanonical(s)
	}
	return s
}

func slowCanonical(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return s
}

// appendCanonical appends what slowCanonical makes of the JSON value s
// without building Go values (verify hashes every payload of a million
// rows twice, issue 11). It gives up (false) on what it does not handle
// exactly as encoding/json does: strings with escapes, HTML characters or
// non-ASCII bytes, duplicate keys, numbers out of float64's range.
func appendCanonical(b []byte, s string) ([]byte, bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	s = strings.TrimRight(s, " \t\r\n")
	if s == "" {
		return b, false
	}
	switch c := s[0]; {
	case c == '{':
		type member struct{ key, val string }
		var ms []member
		if !jsonx.Members(s, func(k, v string) bool { ms = append(ms, member{k, v}); return true }) {
			return b, false
		}
		for _, m := range ms {
			if !plainString(m.key) {
				return b, false
			}
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				if m.key == ms[i-1].key {
					return b, false
				}
				b = append(b, ',')
			}
			b = append(append(b, m.key...), ':')
			var ok bool
			if b, ok = appendCanonical(b, m.val); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case c == '[':
		b = append(b, '[')
		first, ok := true, true
		valid := jsonx.Elements(s, func(v string) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b, ok = appendCanonical(b, v)
			return ok
		})
		return append(b, ']'), valid && ok
	case c == '"':
		return append(b, s...), plainString(s)
	case c == 't' || c == 'f' || c == 'n':
		return append(b, s...), s == "true" || s == "false" || s == "null"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return b, false
	}
	return jsonx.AppendFloat(b, f), true
}

// plainString reports whether the quoted JSON string q is printable ASCII
// without escapes or the characters json.Marshal escapes for HTML.
func plainString(q string) bool {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return false
	}
	for i := 1; i < len(q)-1; i++ {
		switch c := q[i]; {
		case c < 0x20, c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// rowKey identifies the same row in a lake and in the live project.
func rowKey(table string, r map[string]string) string {
	switch table {
	case "prompts":
		return r["name"] + "@" + r["version"]
	case "score_configs", "annotation_queues", "datasets", "dataset_runs":
		return r["name"]
	case "models":
		return r["model_name"] + "|" + r["match_pattern"]
	case "dataset_run_items":
		return r["dataset_item_id"] + "|" + r["trace_id"]
	case "comments":
		if r["object_type"] == "PROMPT" {
			// Prompt version ids are assigned by each project.
			return r["object_type"] + "|" + r["content"]
		}
		return r["object_type"] + "|" + r["object_id"] + "|" + r["content"]
	case "annotation_queue_items":
		return r["object_type"] + "|" + r["object_id"] + "|" + r["status"]
	case "media":
		return r["id"] + "|" + r["trace_id"] + "|" + r["observation_id"] + "|" + r["dataset_item_id"] + "|" + r["field"] + "|" + r["json_path"]
	}
	return r["id"]
}

type rowHash struct {
	n    int
	hash uint64
}

// keyHash identifies a row key in the maps of hashTable: a 64-bit hash
// instead of the key keeps a million rows in tens of MB (issue 11); the
// keys of differing rows are found again by a second pass (keyNames).
func keyHash(k string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(k))
	return h.Sum64()
}

// hashTable hashes every row of table: hash of the key -> (count, hash of
// the kept columns). asImported applies what the import changes on purpose
// first; rewriteIDs also the id rewrite of import --rewrite-ids; expect, when
// set, rewrites a row into what the destination stores of it. key, when
// set, is called with each row's key hash and key (and nothing is hashed).
func hashTable(ctx context.Context, l *hive.Lake, table string, skip map[string]bool, asImported, rewriteIDs bool, expect func(map[string]string), key func(uint64, string)) (map[uint64]rowHash, error) {
	tb, err := schema.Lookup(table)
	if err != nil {
		return nil, err
	}
	out := map[uint64]rowHash{}
	err = l.Scan(ctx, table, hive.ScanOptions{}, func(b hive.Batch) error {
		d, err := schema.NewDecoder(tb, b.Record.Schema())
		if err != nil {
			return err
		}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			v := reflect.New(tb.RowType())
			if err := d.Decode(b.Record, i, v.Interface()); err != nil {
				return err
			}
			r := flatten(v.Elem())
			if expect != nil {
				expect(r)
			}
			if asImported && table == "models" && r["unit"] == "<null>" {
				r["unit"] = importer.DefaultModelUnit // sent for models without a unit (docs/migration.md)
			}
			if asImported && rewriteIDs {
				for col, fn := range idColumns {
					if x, ok := r[col]; ok && x != "<null>" && x != "" {
						r[col] = fn(x)
					}
				}
				switch table {
				case "traces":
					r["id"] = importer.RewriteTraceID(r["id"])
				case "observations":
					r["id"] = importer.RewriteSpanID(r["id"])
				}
				switch r["object_type"] {
				case "TRACE":
					r["object_id"] = importer.RewriteTraceID(r["object_id"])
				case "OBSERVATION":
					r["object_id"] = importer.RewriteSpanID(r["object_id"])
				}
			}
			k := rowKey(table, r)
			kh := keyHash(k)
			if key != nil {
				key(kh, k)
				continue
			}
			h := fnv.New64a()
			cols := make([]string, 0, len(r))
			for c := range r {
				if !skip[c] {
					cols = append(cols, c)
				}
			}
			sort.Strings(cols)
			for _, c := range cols {
				_, _ = io.WriteString(h, c)
				_, _ = io.WriteString(h, "=")
				_, _ = io.WriteString(h, canonical(r[c]))
				_, _ = io.WriteString(h, "\x00")
			}
			rh := out[kh]
			rh.n++
			rh.hash ^= h.Sum64() // order-independent for keys that repeat
			out[kh] = rh
		}
		return nil
	})
	return out, err
}

// compareLakes prints each difference between the lake and the live
// project's lake and returns their number, the rows compared and the counts
// of each table compared. deliberate, when set, is what the import's ledger
// says it skipped or created on purpose: those rows are not differences.
// rewriteIDs: the import rewrote ids (--rewrite-ids).
func compareLakes(ctx context.Context, w io.Writer, lake, live *hive.Lake, againstDestination, rewriteIDs bool, tables []string, deliberate *importer.Deliberate) (diffs int, rows int64, compared []tableResult, err error) {
	var skipped, created map[string]map[string]string
	if deliberate != nil {
		skipped, created = deliberate.Skipped, deliberate.Created
	}
	rules := sourceVolatile
	if againstDestination {
		rules = destinationAssigned
	}
	want := map[string]bool{}
	for _, t := range tables {
		want[t] = true
	}
	for _, table := range lake.Tables() {
		if len(want) > 0 && !want[table] {
			continue
		}
		if _, err := schema.Lookup(table); err != nil {
			continue
		}
		skip := map[string]bool{}
		for _, c := range append(append([]string{}, rules["*"]...), rules[table]...) {
			skip[c] = true
		}
		if table == "traces" || table == "observations" {
			delete(skip, "id") // mapped, not assigned
		}
		var expect func(map[string]string)
		if againstDestination {
			if expect, err = expectation(ctx, lake, live, table); err != nil {
				return diffs, rows, compared, err
			}
		}
		a, err := hashTable(ctx, lake, table, skip, againstDestination, rewriteIDs, expect, nil)
		if err != nil {
			return diffs, rows, compared, err
		}
		b, err := hashTable(ctx, live, table, skip, false, false, nil, nil)
		if err != nil {
			return diffs, rows, compared, err
		}
		tr := tableResult{Table: table}
		skippedKeys, createdKeys := map[uint64]bool{}, map[uint64]bool{}
		for k := range skipped[table] {
			skippedKeys[keyHash(k)] = true
		}
		for k := range created[table] {
			createdKeys[keyHash(k)] = true
		}
		// Differences are collected by key hash and printed with their keys,
		// which a second pass finds (only when there are differences).
		type diff struct {
			key    uint64
			format string
			args   []any
		}
		var found []diff
		report := func(count *int64, key uint64, format string, args ...any) {
			diffs++
			*count++
			if len(found) < 200 {
				found = append(found, diff{key, format, args})
			}
		}
		var na, nb int
		for k, ra := range a {
			rb, inB := b[k]
			if skippedKeys[k] && !inB {
				continue // not imported on purpose (the import's summary said why)
			}
			na += ra.n
			rows += int64(ra.n)
			switch {
			case !inB:
				report(&tr.Missing, k, "row %s is missing in the live project")
			case rb.n != ra.n:
				report(&tr.Differing, k, "row %s appears %d times in the live project, %d in the lake", rb.n, ra.n)
			case rb.hash != ra.hash:
				report(&tr.Differing, k, "row %s differs")
			}
		}
		for k, rb := range b {
			_, inA := a[k]
			if createdKeys[k] && !inA {
				continue // created by the import (a placeholder prompt version)
			}
			nb += rb.n
			if !inA {
				if table == "observations" && againstDestination {
					continue // root spans made for traces without observations
				}
				report(&tr.Extra, k, "row %s is in the live project, not in the lake")
			}
		}
		if len(found) > 0 {
			names := map[uint64]string{}
			for _, d := range found {
				names[d.key] = ""
			}
			name := func(h uint64, k string) {
				if _, ok := names[h]; ok {
					names[h] = k
				}
			}
			if _, err := hashTable(ctx, lake, table, skip, againstDestination, rewriteIDs, expect, name); err != nil {
				return diffs, rows, compared, err
			}
			if _, err := hashTable(ctx, live, table, skip, false, false, nil, name); err != nil {
				return diffs, rows, compared, err
			}
			for _, d := range found {
				fmt.Fprintf(w, "DIFF %s: "+d.format+"\n", append([]any{table, names[d.key]}, d.args...)...)
			}
		}
		tr.LakeRows, tr.LiveRows = int64(na), int64(nb)
		compared = append(compared, tr)
		if na != nb {
			fmt.Fprintf(w, "     %s: %d rows in the lake, %d in the live project\n", table, na, nb)
		}
	}
	return diffs, rows, compared, nil
}
