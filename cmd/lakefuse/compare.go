package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	"github.com/lakefuse/lakefuse/internal/jsonx"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
	"golang.org/x/sync/errgroup"
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
func expectStored(table string, r row) {
	if table != "observations" {
		return
	}
	md := r.get("metadata")
	if md == "<null>" || !strings.HasPrefix(strings.TrimSpace(md), "{") {
		return
	}
	var in *string
	if s := r.get("input"); s != "" && s != "<null>" {
		sent := sentIO(s)
		in = &sent
	}
	if newIn, _, ok := lftest.ToolsIntoInput(in, md); ok {
		r.set("input", newIn)
	}
}

// expectation returns what expectStored does to the rows of table, plus,
// for traces imported into a Langfuse v4 destination (v4: the live project
// was read through a v4 API), the trace input: v4 takes it from the root observation,
// whose input ingestion may reshape. It reads the lake's root observations
// once and keeps the predicted input of the traces whose root changes.
func expectation(ctx context.Context, lake *hive.Lake, v4 bool, table string) (func(row), error) {
	if table != "traces" || !v4 {
		return func(r row) { expectStored(table, r) }, nil
	}
	roots, err := readRootInputs(ctx, lake)
	if err != nil {
		return nil, err
	}
	return rootInput(roots), nil
}

// readRootInputs reads the lake's root observations and returns the
// predicted input of each trace whose root's input ingestion reshapes (by
// trace id): what collectRoots gathers while the observations are hashed.
func readRootInputs(ctx context.Context, lake *hive.Lake) (map[string]string, error) {
	roots := map[string]string{}
	tb := schema.Observations
	// Keys and inputs kept are copied: the batches' buffers are pooled.
	opts := hive.ScanOptions{Columns: []string{"trace_id", "parent_observation_id", "input", "metadata"}, Mem: hashPool, BatchBytes: hashBatchBytes}
	err := lake.Scan(ctx, tb.Name, opts, func(b hive.Batch) error {
		d, err := schema.NewDecoder(tb, b.Record.Schema())
		if err != nil {
			return err
		}
		d.AliasBinary() // what is kept is copied
		for i := 0; i < int(b.Record.NumRows()); i++ {
			var o schema.Observation
			if err := d.Decode(b.Record, i, &o); err != nil {
				return err
			}
			if o.ParentObservationID != nil || o.TraceID == nil || o.Metadata == nil {
				continue
			}
			r := mapRow{"input": "<null>", "metadata": *o.Metadata}
			if o.Input != nil {
				r["input"] = *o.Input
			}
			before := r["input"]
			if expectStored("observations", r); r["input"] != before {
				roots[strings.Clone(*o.TraceID)] = strings.Clone(r["input"])
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the lake's root observations: %w", err)
	}
	return roots, nil
}

// rootInput is the expectation of traces imported into a Langfuse v4
// destination, given the predicted inputs of the traces whose root
// observation's input ingestion reshapes (by trace id).
func rootInput(roots map[string]string) func(row) {
	return func(r row) {
		if in, ok := roots[r.get("id")]; ok {
			r.set("input", in)
		}
	}
}

// collectRoots is the expectation of observations (expectStored) that also
// keeps, in roots, the column hash (canonicalHash) of the predicted input
// of each root observation whose input it changes: what expectation reads
// the lake's observations for, gathered while compareLakes hashes them
// anyway (at a million observations that read was 4 GB of Arrow buffers and
// 7 s of CPU), and a hash rather than the text (the texts were 10 MB of a
// heap at its limit, issue 11). rootInputHash applies them to the traces.
func collectRoots(roots map[string]uint64) func(row) {
	var buf []byte
	var scratch []jsonMember
	return func(r row) {
		before := r.get("input")
		expectStored("observations", r)
		in := r.get("input")
		if in == before || r.get("parent_observation_id") != "<null>" {
			return
		}
		if id := r.get("trace_id"); id != "<null>" {
			roots[strings.Clone(id)] = canonicalHash(in, &buf, &scratch) // the id aliases the batch
		}
	}
}

// rootInputHash is rootInput for rows that a rowHasher hashes, given the
// column hashes collectRoots keeps.
func rootInputHash(roots map[string]uint64) func(row) {
	return func(r row) {
		if h, ok := roots[r.get("id")]; ok {
			r.(*rowText).setHash("input", h)
		}
	}
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

// FNV-1a, 64 bits (hash/fnv's New64a), over strings without converting
// them to byte slices.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// A row's hash chains the hashes of its columns' canonical texts, in the
// hasher's column order, through mix64. A column's hash is maphash's (AES
// where the CPU has it): FNV-1a a byte at a time over every payload of both
// sides took seconds of a million-row compare (issue 11). Hashes live only
// in this process (one seed).
var hashSeed = maphash.MakeSeed()

func valueHash(b []byte) uint64        { return maphash.Bytes(hashSeed, b) }
func valueHashString(s string) uint64  { return maphash.String(hashSeed, s) }
func chainHash(x, value uint64) uint64 { return mix64(x ^ value) }

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// canonicalHash is the column hash of text s: what hashText uses for a
// column that holds s.
func canonicalHash(s string, buf *[]byte, scratch *[]jsonMember) uint64 {
	var val string
	if *buf, val = appendCanonicalOrText((*buf)[:0], s, scratch); val != "" {
		return valueHashString(val)
	}
	return valueHash(*buf)
}

// appendCanonicalOrText is canonical(s) without its allocations: the form
// is either appended to b[:0] (and the text is "") or returned as the text
// (s itself, or what slowCanonical makes of it; b is then empty). scratch
// is appendCanonical's.
func appendCanonicalOrText(b []byte, s string, scratch *[]jsonMember) ([]byte, string) {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		if out, ok := appendCanonical(b[:0], s, scratch); ok {
			return out, ""
		}
		return b[:0], slowCanonical(s)
	}
	return b[:0], s
}

// canonical normalises JSON text so that key order is not a difference:
// the text json.Marshal writes for what json.Unmarshal reads from s.
func canonical(s string) string {
	b, text := appendCanonicalOrText(nil, s, new([]jsonMember))
	if len(b) > 0 {
		return string(b)
	}
	return text
}

func slowCanonical(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return s
}

// jsonMember is an object member of appendCanonical: key is the quoted key
// as json.Marshal writes it, name its Go value (json.Marshal sorts map
// keys by it).
type jsonMember struct{ key, name, val string }

// appendCanonical appends what slowCanonical makes of the JSON value s
// without building Go values (verify hashes every payload of a million
// rows twice, issue 11). It gives up (false) on what it does not handle
// exactly as encoding/json does: strings with escapes, HTML characters or
// non-ASCII bytes, duplicate keys, numbers out of float64's range. The
// members of the objects it sorts are kept in *scratch, each nested
// object after its parent's, so that one list serves a whole document and
// every later one.
func appendCanonical(b []byte, s string, scratch *[]jsonMember) ([]byte, bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	s = strings.TrimRight(s, " \t\r\n")
	if s == "" {
		return b, false
	}
	switch c := s[0]; {
	case c == '{':
		base := len(*scratch)
		defer func() { *scratch = (*scratch)[:base] }()
		ok := true
		if !jsonx.Members(s, func(k, v string) bool {
			m := jsonMember{key: k, name: k[1 : len(k)-1], val: v}
			if !plainString(k) {
				if m.name, ok = unquote(k); !ok {
					return false
				}
				enc, _ := json.Marshal(m.name)
				m.key = string(enc)
			}
			*scratch = append(*scratch, m)
			return true
		}) || !ok {
			return b, false
		}
		// Nested objects append after these (and may move the list):
		// this view stays as it is.
		ms := (*scratch)[base:len(*scratch):len(*scratch)]
		slices.SortFunc(ms, func(x, y jsonMember) int { return strings.Compare(x.name, y.name) })
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				if m.name == ms[i-1].name {
					return b, false
				}
				b = append(b, ',')
			}
			b = append(append(b, m.key...), ':')
			var ok bool
			if b, ok = appendCanonical(b, m.val, scratch); !ok {
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
			b, ok = appendCanonical(b, v, scratch)
			return ok
		})
		return append(b, ']'), valid && ok
	case c == '"':
		if plainString(s) {
			return append(b, s...), true
		}
		// Escapes, non-ASCII or HTML characters: the string as
		// json.Marshal writes what json.Unmarshal reads of it.
		return appendJSONString(b, s)
	case c == 't' || c == 'f' || c == 'n':
		return append(b, s...), s == "true" || s == "false" || s == "null"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return b, false
	}
	return jsonx.AppendFloat(b, f), true
}

// appendJSONString appends what json.Marshal writes of the Go string that
// json.Unmarshal reads from the quoted JSON string q, without either: an
// escape is decoded (a \u surrogate pair into one rune, a lone surrogate
// into U+FFFD), invalid UTF-8 becomes U+FFFD, and the rune is written as
// encoding/json writes it (HTML characters, control characters, U+2028 and
// U+2029 escaped). false: q is not a valid JSON string.
func appendJSONString(b []byte, q string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return b, false
	}
	s := q[1 : len(q)-1]
	b = append(b, '"')
	for i := 0; i < len(s); {
		// A run of bytes written as they are (printable ASCII other than
		// the escaped characters, valid UTF-8 other than U+2028 and
		// U+2029) is copied at once: payloads are mostly such runs.
		j := i
		for j < len(s) {
			c := s[j]
			if c < utf8.RuneSelf {
				if !plainByte[c] {
					break
				}
				j++
				continue
			}
			if n := plainMultibyte(s, j); n > 0 {
				j += n
				continue
			}
			r, n := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
				break
			}
			j += n
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		var r rune
		switch {
		case c == '"' || c < 0x20:
			return b, false
		case c == '\\':
			if i+1 >= len(s) {
				return b, false
			}
			i += 2
			switch s[i-1] {
			case '"', '\\', '/':
				r = rune(s[i-1])
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				var ok bool
				if r, ok = hex4(s, i); !ok {
					return b, false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := unicode.ReplacementChar
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if x, ok := hex4(s, i+2); ok {
							if d := utf16.DecodeRune(r, x); d != unicode.ReplacementChar {
								r2 = d
								i += 6
							}
						}
					}
					r = r2
				}
			default:
				return b, false
			}
		case c < utf8.RuneSelf:
			r = rune(c)
			i++
		default:
			var n int
			r, n = utf8.DecodeRuneInString(s[i:])
			i += n // invalid UTF-8: RuneError, one byte
		}
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == '<' || r == '>' || r == '&':
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"'), true
}

// plainByte marks the ASCII bytes json.Marshal writes unescaped.
var plainByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// hex4 reads the four hex digits at s[i:].
// plainMultibyte is the length of the two- or three-byte UTF-8 sequence at
// s[i] when it is valid and copied as it is (not U+2028 or U+2029), else 0
// (utf8.DecodeRuneInString decides). Japanese and most other non-ASCII
// text is such sequences; decoding each rune took a third of
// appendJSONString (issue 11).
func plainMultibyte(s string, i int) int {
	c := s[i]
	switch {
	case c >= 0xC2 && c < 0xE0:
		if i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			return 2
		}
	case c >= 0xE0 && c < 0xF0:
		if i+2 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 {
			return 0
		}
		switch {
		case c == 0xE0 && s[i+1] < 0xA0: // overlong
		case c == 0xED && s[i+1] >= 0xA0: // a surrogate
		case c == 0xE2 && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9): // U+2028, U+2029: escaped
		default:
			return 3
		}
	}
	return 0
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unquote is what json.Unmarshal reads of the quoted JSON string q.
func unquote(q string) (string, bool) {
	var v string
	if json.Unmarshal([]byte(q), &v) != nil {
		return "", false
	}
	return v, true
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
func rowKey(table string, rw row) string {
	r := rw.get
	switch table {
	case "prompts":
		return r("name") + "@" + r("version")
	case "score_configs", "annotation_queues", "datasets", "dataset_runs":
		return r("name")
	case "models":
		return r("model_name") + "|" + r("match_pattern")
	case "dataset_run_items":
		return r("dataset_item_id") + "|" + r("trace_id")
	case "comments":
		if r("object_type") == "PROMPT" {
			// Prompt version ids are assigned by each project.
			return r("object_type") + "|" + r("content")
		}
		return r("object_type") + "|" + r("object_id") + "|" + r("content")
	case "annotation_queue_items":
		return r("object_type") + "|" + r("object_id") + "|" + r("status")
	case "media":
		return r("id") + "|" + r("trace_id") + "|" + r("observation_id") + "|" + r("dataset_item_id") + "|" + r("field") + "|" + r("json_path")
	}
	return r("id")
}

// rowHash is what verify keeps of the rows with one key: the key's hash
// and the XOR of their hashes (16 bytes a row: at a million rows each
// list is 16 MB, issue 11).
type rowHash struct {
	key  uint64
	hash uint64
}

// hashList is the rows of a table by key hash (sorted, one entry per key
// hash); the few keys that more than one row has are counted in many.
type hashList struct {
	rows []rowHash
	many map[uint64]int
}

// count is how many rows have the key of entry i.
func (l hashList) count(i int) int {
	if n, ok := l.many[l.rows[i].key]; ok {
		return n
	}
	return 1
}

// keyHash identifies a row key in the lists of hashTable: a 64-bit hash
// instead of the key keeps a million rows in tens of MB (issue 11); the
// keys of differing rows are found again by a second pass.
func keyHash(k string) uint64 { return fnvString(fnvOffset, k) }

// hashTable hashes every row of table: (hash of the key, count, hash of
// the kept columns), sorted by key hash, one entry per key hash (a sorted
// list, not a map: two of them are merged, and a million rows take 16 MB).
// asImported applies what the import changes on purpose first; rewriteIDs
// also the id rewrite of import --rewrite-ids; expect, when set, rewrites a
// row into what the destination stores of it. key, when set, is called with
// each row's key hash and key (and nothing is hashed).
func hashTable(ctx context.Context, l *hive.Lake, table string, skip map[string]bool, asImported, rewriteIDs bool, expect func(row), key func(uint64, string)) (hashList, error) {
	h, err := newRowHasher(table, skip, asImported, rewriteIDs, expect, key)
	if err != nil {
		return hashList{}, err
	}
	if key == nil {
		// Sized from the manifests, so that it is not grown by doubling
		// (the key pass keeps nothing).
		h.out = make([]rowHash, 0, max(l.Rows(table), 0))
	}
	if err := h.scan(ctx, l); err != nil {
		return hashList{}, err
	}
	return h.finish(), nil
}

// hashBatchBytes is the size of the record batches of a lake verify
// hashes: a rowHasher takes one row at a time, so a smaller batch only
// holds less at once (at a million observations the demo's heap is at its
// limit while verify reads; issue 11).
const hashBatchBytes = 1 << 20

// scan hashes every row of the hasher's table in the lake. Reading a batch
// (decompressing and decoding its pages) and hashing its rows are two
// stages on two goroutines, one batch apart: on one goroutine the compare
// of a million observations kept 1.3 of 2 cores busy. A second reader
// instead would hold a second set of page buffers in a heap at its limit
// (issue 11). The rows are hashed, and h's callbacks called, on the
// hashing goroutine only.
func (h *rowHasher) scan(ctx context.Context, l *hive.Lake) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	recs := make(chan arrow.RecordBatch, 1)
	hashed := make(chan error, 1)
	go func() {
		var err error
		for rec := range recs {
			if err == nil {
				if err = h.batch(rec); err != nil {
					cancel(err)
				}
			}
			rec.Release()
		}
		hashed <- err
	}()
	err := l.Scan(ctx, h.tb.Name, hive.ScanOptions{Mem: hashPool, BatchBytes: hashBatchBytes}, func(b hive.Batch) error {
		b.Record.Retain() // the reader releases it when it reads the next
		select {
		case recs <- b.Record:
			return nil
		case <-ctx.Done():
			b.Record.Release()
			return context.Cause(ctx)
		}
	})
	close(recs)
	if herr := <-hashed; herr != nil {
		return herr
	}
	return err
}

// hashPool serves the Arrow buffers of the batches verify hashes: a
// rowHasher keeps nothing of a batch but hashes (and the key callback
// copies what it keeps), so the buffers are reused batch after batch
// instead of being garbage collected (issue 11).
var hashPool = hive.NewPoolAllocator()

// rowHasher hashes the rows of one table batch by batch (hashTable). key,
// when set, must copy the key it keeps: it aliases the batch.
type rowHasher struct {
	tb                     *schema.Table
	skip                   map[string]bool
	asImported, rewriteIDs bool
	expect                 func(row)
	key                    func(uint64, string)
	out                    []rowHash
	// sink, when set, takes each row's key hash, hash and key (which
	// aliases the batch) instead of out.
	sink func(key, hash uint64, k string)

	// One row value, one rowText and one buffer serve every row.
	row     reflect.Value
	text    *rowText
	cols    []int        // the fields hashed, by column name
	members []jsonMember // appendCanonical's scratch
	buf     []byte
}

func newRowHasher(table string, skip map[string]bool, asImported, rewriteIDs bool, expect func(row), key func(uint64, string)) (*rowHasher, error) {
	tb, err := schema.Lookup(table)
	if err != nil {
		return nil, err
	}
	h := &rowHasher{tb: tb, skip: skip, asImported: asImported, rewriteIDs: rewriteIDs, expect: expect, key: key,
		row: reflect.New(tb.RowType()), text: newRowText(tb.RowType())}
	for i, f := range h.text.fl.fields {
		if !skip[f.name] {
			h.cols = append(h.cols, i)
		}
	}
	fields := h.text.fl.fields
	slices.SortFunc(h.cols, func(a, b int) int { return strings.Compare(fields[a].name, fields[b].name) })
	return h, nil
}

// batch hashes the rows of one record batch of the table.
func (h *rowHasher) batch(rec arrow.RecordBatch) error {
	r := h.text
	d, err := schema.NewDecoder(h.tb, rec.Schema())
	if err != nil {
		return err
	}
	// Nothing of a row outlives it (the key callback copies): payloads are
	// read in place rather than copied (1.4 GB a minute of verify at a
	// million observations, issue 11).
	d.AliasBinary()
	v, dst, p := h.row, h.row.Interface(), h.row.UnsafePointer()
	for i := 0; i < int(rec.NumRows()); i++ {
		// One row value serves every row: nothing of it outlives the row.
		v.Elem().SetZero()
		if err := d.Decode(rec, i, dst); err != nil {
			return err
		}
		r.fill(p)
		h.hashText()
	}
	return nil
}

// hashRow hashes one row struct of the table (a pointer to its row type)
// as batch hashes it when read back from a lake file: rowText gives times
// as a lake holds them (microseconds, UTC), the one thing the Arrow
// round trip changes in a row.
func (h *rowHasher) hashRow(row any) error {
	rv := reflect.ValueOf(row)
	if rv.Type() != h.row.Type() {
		return fmt.Errorf("verify: a %T row for table %s", row, h.tb.Name)
	}
	h.text.fill(rv.UnsafePointer())
	h.hashText()
	return nil
}

// hashText hashes the row h.text holds.
func (h *rowHasher) hashText() {
	table, r := h.tb.Name, h.text
	if h.expect != nil {
		h.expect(r)
	}
	if h.asImported && table == "models" && r.get("unit") == "<null>" {
		r.set("unit", importer.DefaultModelUnit) // sent for models without a unit (docs/migration.md)
	}
	if h.asImported && h.rewriteIDs {
		for col, fn := range idColumns {
			if x := r.get(col); x != "<null>" && x != "" {
				r.set(col, fn(x))
			}
		}
		switch table {
		case "traces":
			r.set("id", importer.RewriteTraceID(r.get("id")))
		case "observations":
			r.set("id", importer.RewriteSpanID(r.get("id")))
		}
		switch r.get("object_type") {
		case "TRACE":
			r.set("object_id", importer.RewriteTraceID(r.get("object_id")))
		case "OBSERVATION":
			r.set("object_id", importer.RewriteSpanID(r.get("object_id")))
		}
	}
	k := rowKey(table, r)
	kh := keyHash(k)
	if h.key != nil {
		h.key(kh, k)
		return
	}
	x := fnvOffset
	for _, c := range h.cols {
		v := r.pre[c]
		switch {
		case v != 0:
		case r.fl.fields[c].isText():
			v = canonicalHash(r.vals[c], &h.buf, &h.members)
		default:
			// Not JSON: "[prod rag]" (tags) or "{input=12,total=30}"
			// (usage) failed both canonical forms, the second through
			// encoding/json, 2.5 s of a million-row compare (issue 11).
			v = valueHashString(r.vals[c])
		}
		x = chainHash(x, v)
	}
	if h.sink != nil {
		h.sink(kh, x, k)
		return
	}
	h.out = append(h.out, rowHash{key: kh, hash: x})
}

// rowCounts counts rows by entry: a byte each (a million observations, one
// row per key nearly always), the counts past 255 in a map.
type rowCounts struct {
	n    []uint8
	many map[int]int
}

func (c *rowCounts) add(i int) {
	if c.n[i] < math.MaxUint8 {
		c.n[i]++
		return
	}
	if c.many == nil {
		c.many = map[int]int{}
	}
	c.many[i]++
}

func (c *rowCounts) at(i int) int { return int(c.n[i]) + c.many[i] }

// finish sorts the hashes by key hash and folds the rows that repeat a key
// into one entry: they count, and their hashes combine order-independently.
func (h *rowHasher) finish() hashList {
	out := h.out
	h.out = nil
	return finishList(out)
}

// finishList is finish of the rows in out (which it reorders and reuses).
func finishList(out []rowHash) hashList {
	slices.SortFunc(out, func(a, b rowHash) int { return cmp.Compare(a.key, b.key) })
	var many map[uint64]int
	merged := out[:0]
	for _, r := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].key == r.key {
			if many == nil {
				many = map[uint64]int{}
			}
			many[r.key] = max(many[r.key], 1) + 1 // the first row was not counted
			merged[k].hash ^= r.hash
			continue
		}
		merged = append(merged, r)
	}
	return hashList{rows: slices.Clip(merged), many: many}
}

// liveHashes hashes the rows an export of a live project gives
// (lfexport.Options.Rows), as hashTable hashes a lake's, without writing
// them to a lake and reading them back (issue 11: the demo's read-back
// wrote and decoded a million rows of Parquet only to hash them). Each row
// struct is hashed as it is (rowHasher.hashRow): it used to go through an
// Arrow record batch and be decoded again, whose only change to a row is
// the times rowText gives as a lake holds them (TestLiveHashesEqualLake).
type liveHashes struct {
	mu   sync.Mutex
	skip func(table string) map[string]bool
	key  func(table string) func(uint64, string)
	// sink, when set, gives the function that takes the rows of a table
	// (rowHasher.sink; nil: the table is not asked for).
	sink    func(table string) func(key, hash uint64, k string)
	tables  map[string]*rowHasher
	ignored map[string]bool // the tables key or sink did not ask for
}

func newLiveHashes(skip func(string) map[string]bool, key func(string) func(uint64, string)) *liveHashes {
	return &liveHashes{skip: skip, key: key, tables: map[string]*rowHasher{}}
}

// add is lfexport.Options.Rows.
func (l *liveHashes) add(t *schema.Table, row any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.tables[t.Name]
	if h == nil {
		if l.ignored[t.Name] {
			return nil
		}
		var key func(uint64, string)
		var sink func(uint64, uint64, string)
		if l.key != nil {
			key = l.key(t.Name)
		}
		if l.sink != nil {
			sink = l.sink(t.Name)
		}
		if l.key != nil && key == nil || l.sink != nil && sink == nil {
			if l.ignored == nil {
				l.ignored = map[string]bool{}
			}
			l.ignored[t.Name] = true // not asked for
			return nil
		}
		var err error
		if h, err = newRowHasher(t.Name, l.skip(t.Name), false, false, nil, key); err != nil {
			return err
		}
		h.sink = sink
		l.tables[t.Name] = h
	}
	return h.hashRow(row)
}

// live is what compareLakes compares a lake with: a live project whose
// rows it can read as hashes, and read again for the keys of its rows
// (only when there are differences to print).
type live struct {
	v4 bool // the project is read through a Langfuse v4 API
	// rows reads the rows of the named tables (all when nil) once, calling
	// the function sink gives for a table (nil: not asked for) with each
	// row's key hash, hash (rowHasher's) and key (valid during the call).
	// The calls come from one goroutine at a time.
	rows func(ctx context.Context, tables []string, sink func(table string) func(key, hash uint64, k string)) error
	// keys reads the keys of the rows of the tables named in fns once more,
	// calling each table's function with every key hash and key.
	keys func(ctx context.Context, fns map[string]func(uint64, string)) error
}

// skipFor is the set of columns not compared for table: those the
// destination assigns (againstDestination) or those a live project changes.
func skipFor(table string, againstDestination bool) map[string]bool {
	rules := sourceVolatile
	if againstDestination {
		rules = destinationAssigned
	}
	skip := map[string]bool{}
	for _, c := range append(append([]string{}, rules["*"]...), rules[table]...) {
		skip[c] = true
	}
	if table == "traces" || table == "observations" {
		delete(skip, "id") // mapped, not assigned
	}
	return skip
}

// digest is one side's rows of a table in compareLakes' first pass: for
// each bucket of key hashes, how many rows fall in it and the sum of a hash
// of each row's key hash and hash (a sum, so that rows that repeat count).
// Equal digests are the same rows, but for a collision of 64-bit hashes
// under this process's seed; the buckets that differ are read again and
// compared row by row. The rows exact selects are kept as they are. A
// million rows make 12 bytes a bucket of 64 rows instead of 16 bytes a
// row, beside a destination's index (issue 11).
type digest struct {
	mask  uint64
	n     []uint32
	sum   []uint64
	exact []rowHash
}

const (
	digestBucketRows = 64
	maxDigestBuckets = 1 << 16
)

// newDigest is a digest for a table of about rows rows (both sides of a
// compare are given the same number: their buckets must match).
func newDigest(rows int64) *digest {
	n := 1
	for int64(n)*digestBucketRows < rows && n < maxDigestBuckets {
		n <<= 1
	}
	return &digest{mask: uint64(n - 1), n: make([]uint32, n), sum: make([]uint64, n)}
}

func (d *digest) bucket(key uint64) int { return int(mix64(key) & d.mask) }

// sink is a rowHasher sink into d: the rows exact selects are kept as they
// are, the others summed in their bucket.
func (d *digest) sink(exact func(key uint64, k string) bool) func(key, hash uint64, k string) {
	return func(key, hash uint64, k string) {
		if exact(key, k) {
			d.exact = append(d.exact, rowHash{key: key, hash: hash})
			return
		}
		b := d.bucket(key)
		d.n[b]++
		d.sum[b] += mix64(mix64(key) ^ hash)
	}
}

// differs marks the buckets whose rows differ between d and o (nil: none).
func (d *digest) differs(o *digest) []bool {
	var bad []bool
	for b := range d.n {
		if d.n[b] != o.n[b] || d.sum[b] != o.sum[b] {
			if bad == nil {
				bad = make([]bool, len(d.n))
			}
			bad[b] = true
		}
	}
	return bad
}

// again reports the rows the second pass compares one by one: those of the
// buckets marked bad (the rows exact selects were kept by the first).
func (d *digest) again(bad []bool, exact func(key uint64, k string) bool) func(key uint64, k string) bool {
	return func(key uint64, k string) bool { return bad[d.bucket(key)] && !exact(key, k) }
}

// agreed is how many rows the buckets outside bad hold (as many on both
// sides: their digests are equal).
func (d *digest) agreed(bad []bool) int {
	n := 0
	for b, c := range d.n {
		if bad == nil || !bad[b] {
			n += int(c)
		}
	}
	return n
}

// exactRows selects the rows compareLakes compares one by one whatever
// the digests say: those of keys the import skipped or created on purpose,
// and, against a destination, the placeholder roots t-<traceId> a v4
// import makes (a live observation the lake lacks is not a difference).
// The few there are would otherwise send their buckets to a second read.
// skipped and created are the key hashes of those keys (keySet).
func exactRows(table string, againstDestination bool, skipped, created map[uint64]bool) func(uint64, string) bool {
	roots := againstDestination && table == "observations"
	prefix := importer.PlaceholderID("")
	return func(key uint64, k string) bool {
		return skipped[key] || created[key] || roots && strings.HasPrefix(k, prefix)
	}
}

// keySet is the key hashes of the keys of m.
func keySet(m map[string]string) map[uint64]bool {
	out := make(map[uint64]bool, len(m))
	for k := range m {
		out[keyHash(k)] = true
	}
	return out
}

// scanLake hashes every row of table in the lake as hashTable does, giving
// each to sink.
func scanLake(ctx context.Context, l *hive.Lake, table string, asImported, rewriteIDs bool, expect func(row), sink func(key, hash uint64, k string)) error {
	h, err := newRowHasher(table, skipFor(table, asImported), asImported, rewriteIDs, expect, nil)
	if err != nil {
		return err
	}
	h.sink = sink
	return h.scan(ctx, l)
}

// compareLakes prints each difference between the lake and the live
// project's lake and returns their number, the rows compared and the counts
// of each table compared. deliberate, when set, is what the import's ledger
// says it skipped or created on purpose: those rows are not differences.
// rewriteIDs: the import rewrote ids (--rewrite-ids).
func compareLakes(ctx context.Context, w io.Writer, lake *hive.Lake, live *live, againstDestination, rewriteIDs bool, tables []string, deliberate *importer.Deliberate) (diffs int, rows int64, compared []tableResult, err error) {
	var skipped, created map[string]map[string]string
	if deliberate != nil {
		skipped, created = deliberate.Skipped, deliberate.Created
	}
	want := map[string]bool{}
	for _, t := range tables {
		want[t] = true
	}
	// Differences are collected by key hash and printed with their keys,
	// which second passes find (only when there are differences): the
	// lake's, table by table, then one read of the live project for the
	// keys only it has (rows it holds that the lake does not).
	type diff struct {
		key    uint64
		format string
		args   []any
	}
	type pending struct {
		table  string
		found  []diff
		names  map[uint64]string
		na, nb int
	}
	var out []*pending
	liveNames := map[string]func(uint64, string){}
	var order []string
	for _, table := range lake.Tables() {
		if len(want) > 0 && !want[table] {
			continue
		}
		if _, err := schema.Lookup(table); err != nil {
			continue
		}
		order = append(order, table)
	}
	// Against a v4 destination the traces' expectation needs the lake's
	// root observations: they are compared first and their hashing gathers
	// it (collectRoots). The report keeps the lake's order.
	inLake := order // the report's order
	var roots map[string]uint64
	oi, ti := slices.Index(order, "observations"), slices.Index(order, "traces")
	if againstDestination && live.v4 && oi >= 0 && ti >= 0 {
		roots = map[string]uint64{}
		order = append(append([]string{"observations"}, order[:oi]...), order[oi+1:]...)
	}
	// The first pass reads the live project and the lake at once, each
	// into a digest per table; the rows of the buckets whose digests
	// differ are then read again, and compared row by row.
	expects := map[string]func(row){}
	exactFor := map[string]func(uint64, string) bool{}
	skippedKeys, createdKeys := map[string]map[uint64]bool{}, map[string]map[uint64]bool{}
	lakeD, liveD := map[string]*digest{}, map[string]*digest{}
	for _, table := range order {
		switch {
		case !againstDestination:
		case roots != nil && table == "observations":
			expects[table] = collectRoots(roots)
		case roots != nil && table == "traces":
			expects[table] = rootInputHash(roots)
		default:
			if expects[table], err = expectation(ctx, lake, live.v4, table); err != nil {
				return diffs, rows, compared, err
			}
		}
		skippedKeys[table], createdKeys[table] = keySet(skipped[table]), keySet(created[table])
		exactFor[table] = exactRows(table, againstDestination, skippedKeys[table], createdKeys[table])
		lakeD[table], liveD[table] = newDigest(lake.Rows(table)), newDigest(lake.Rows(table))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return live.rows(gctx, tables, func(t string) func(uint64, uint64, string) {
			if d := liveD[t]; d != nil {
				return d.sink(exactFor[t])
			}
			return nil // a table the lake does not have
		})
	})
	g.Go(func() error {
		// In order: the traces' expectation comes of the observations'.
		for _, table := range order {
			if err := scanLake(gctx, lake, table, againstDestination, rewriteIDs, expects[table], lakeD[table].sink(exactFor[table])); err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return diffs, rows, compared, err
	}
	bad := map[string][]bool{}
	for _, table := range order {
		if b := lakeD[table].differs(liveD[table]); b != nil {
			bad[table] = b
		}
	}
	if len(bad) > 0 {
		err := live.rows(ctx, slices.Sorted(maps.Keys(bad)), func(t string) func(uint64, uint64, string) {
			if b := bad[t]; b != nil {
				d, again := liveD[t], liveD[t].again(b, exactFor[t])
				return func(key, hash uint64, k string) {
					if again(key, k) {
						d.exact = append(d.exact, rowHash{key: key, hash: hash})
					}
				}
			}
			return nil
		})
		if err != nil {
			return diffs, rows, compared, err
		}
	}
	for _, table := range order {
		skip := skipFor(table, againstDestination)
		expect := expects[table]
		// The rows compared one by one: the live project's in a list by key
		// hash, into which the lake's fold (XORed into the entry of their
		// key, counted in seen; those whose key it lacks returned in a).
		ld := liveD[table]
		b := finishList(ld.exact)
		ld.exact = nil
		seen := rowCounts{n: make([]uint8, len(b.rows))}
		var only []rowHash
		fold := func(key, hash uint64) {
			if i, ok := slices.BinarySearchFunc(b.rows, key, func(r rowHash, k uint64) int { return cmp.Compare(r.key, k) }); ok {
				b.rows[i].hash ^= hash
				seen.add(i)
				return
			}
			only = append(only, rowHash{key: key, hash: hash})
		}
		for _, r := range lakeD[table].exact {
			fold(r.key, r.hash)
		}
		lakeD[table].exact = nil
		if bb := bad[table]; bb != nil {
			again := lakeD[table].again(bb, exactFor[table])
			err := scanLake(ctx, lake, table, againstDestination, rewriteIDs, expect, func(key, hash uint64, k string) {
				if again(key, k) {
					fold(key, hash)
				}
			})
			if err != nil {
				return diffs, rows, compared, err
			}
		}
		a := finishList(only)
		// The buckets whose digests are equal hold the same rows.
		na := lakeD[table].agreed(bad[table])
		nb := na
		rows += int64(na)
		tr := tableResult{Table: table}
		var found []diff
		report := func(count *int64, key uint64, format string, args ...any) {
			diffs++
			*count++
			if len(found) < 200 {
				found = append(found, diff{key, format, args})
			}
		}
		// a (the lake's rows that live lacks) and live's list are both
		// sorted by key hash: walk them in that order.
		i, j := 0, 0
		for i < len(a.rows) || j < len(b.rows) {
			switch {
			case j == len(b.rows) || i < len(a.rows) && a.rows[i].key < b.rows[j].key:
				ra, n := a.rows[i], a.count(i)
				i++
				if skippedKeys[table][ra.key] {
					continue // not imported on purpose (the import's summary said why)
				}
				na += n
				rows += int64(n)
				report(&tr.Missing, ra.key, "row %s is missing in the live project")
			case seen.at(j) == 0:
				rb, n := b.rows[j], b.count(j)
				j++
				if createdKeys[table][rb.key] {
					continue // created by the import (a placeholder prompt version)
				}
				nb += n
				if table == "observations" && againstDestination {
					continue // root spans made for traces without observations
				}
				report(&tr.Extra, rb.key, "row %s is in the live project, not in the lake")
			default:
				rb, an, bn := b.rows[j], seen.at(j), b.count(j)
				j++
				na += an
				rows += int64(an)
				nb += bn
				switch {
				case bn != an:
					report(&tr.Differing, rb.key, "row %s appears %d times in the live project, %d in the lake", bn, an)
				case rb.hash != 0: // the XOR of the live rows' hashes and the lake rows'
					report(&tr.Differing, rb.key, "row %s differs")
				}
			}
		}
		pt := &pending{table: table, found: found, na: na, nb: nb}
		out = append(out, pt)
		if len(found) > 0 {
			pt.names = map[uint64]string{}
			for _, d := range found {
				pt.names[d.key] = ""
			}
			name := func(h uint64, k string) {
				if v, ok := pt.names[h]; ok && v == "" {
					pt.names[h] = strings.Clone(k) // k aliases the batch
				}
			}
			if _, err := hashTable(ctx, lake, table, skip, againstDestination, rewriteIDs, expect, name); err != nil {
				return diffs, rows, compared, err
			}
			for _, k := range pt.names {
				if k == "" {
					liveNames[table] = name
					break
				}
			}
		}
		tr.LakeRows, tr.LiveRows = int64(na), int64(nb)
		compared = append(compared, tr)
	}
	rank := func(t string) int { return slices.Index(inLake, t) }
	slices.SortStableFunc(out, func(a, b *pending) int { return cmp.Compare(rank(a.table), rank(b.table)) })
	slices.SortStableFunc(compared, func(a, b tableResult) int { return cmp.Compare(rank(a.Table), rank(b.Table)) })
	if len(liveNames) > 0 {
		if err := live.keys(ctx, liveNames); err != nil {
			return diffs, rows, compared, err
		}
	}
	for _, pt := range out {
		for _, d := range pt.found {
			fmt.Fprintf(w, "DIFF %s: "+d.format+"\n", append([]any{pt.table, pt.names[d.key]}, d.args...)...)
		}
		if pt.na != pt.nb {
			fmt.Fprintf(w, "     %s: %d rows in the lake, %d in the live project\n", pt.table, pt.na, pt.nb)
		}
	}
	return diffs, rows, compared, nil
}
