package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lakefuse/lakefuse/schema"
)

// maskText replaces a masked value.
const maskText = "[MASKED]"

// Counters per field: one per detector, then the rule actions.
const (
	nDrop = int(numKinds) + iota
	nHash
	nMask
	nCounters
)

var counterNames = func() (n [nCounters]string) {
	copy(n[:], kindNames[:])
	n[nDrop], n[nHash], n[nMask] = Drop, Hash, Mask
	return n
}()

// fieldKind is the Go type of a column the redactor can change.
type fieldKind uint8

const (
	fNone fieldKind = iota
	fString
	fStringPtr
	fStrings
	fMap
)

var (
	stringType    = reflect.TypeFor[string]()
	stringPtrType = reflect.TypeFor[*string]()
	stringsType   = reflect.TypeFor[[]string]()
)

// columnField returns the index of the row type's field of a column.
func columnField(t *schema.Table, col string) (int, reflect.Type, bool) {
	rt := t.RowType()
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("lake"), ",")
		if name == col {
			return i, rt.Field(i).Type, true
		}
	}
	return 0, nil, false
}

func kindOf(t *schema.Table, col string) fieldKind {
	_, ft, ok := columnField(t, col)
	switch {
	case !ok:
		return fNone
	case ft == stringType:
		return fString
	case ft == stringPtrType:
		return fStringPtr
	case ft == stringsType:
		return fStrings
	case ft.Kind() == reflect.Map:
		return fMap
	}
	return fNone
}

// fieldPlan is what happens to one column of one table.
type fieldPlan struct {
	table, col string
	index      int
	kind       fieldKind
	json       bool
	action     string // whole column: drop, hash, mask
	rules      []rule
	detect     bool
	// idHash hashes the column as an id (bare hex), for rows whose
	// object_type is idType when set.
	idHash  bool
	idTypes []string
	typeIdx int // field index of object_type
	base    int // first counter of this field in Redactor.counts
}

// Redactor applies a policy to rows. It is safe for concurrent use.
type Redactor struct {
	pol    *Policy
	hash   string
	key    []byte
	det    detector
	plans  map[string][]*fieldPlan
	fields []*fieldPlan
	counts []atomic.Int64
	macs   sync.Pool
	rws    sync.Pool
}

// New builds a redactor for a valid policy; getenv reads the HMAC key
// (os.Getenv; nil means os.Getenv).
func New(p *Policy, getenv func(string) string) (*Redactor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	r := &Redactor{pol: p, hash: p.Hash(), plans: map[string][]*fieldPlan{}}
	if p.Detectors == nil {
		for k := range numKinds {
			r.det.on[k] = true
		}
	} else {
		for _, d := range *p.Detectors {
			r.det.on[slices.Index(kindNames[:], d)] = true
		}
	}
	anyDetector := slices.Contains(r.det.on[:], true)
	detectIn := DefaultDetectIn
	if p.DetectIn != nil {
		detectIn = *p.DetectIn
	}
	needKey := len(p.HashIDs) > 0
	for _, t := range schema.Tables() {
		var plans []*fieldPlan
		for _, c := range t.Columns {
			k := kindOf(t, c.Name)
			if k == fNone {
				continue
			}
			idx, _, _ := columnField(t, c.Name)
			f := &fieldPlan{table: t.Name, col: c.Name, index: idx, kind: k, json: c.JSON}
			for _, tn := range []string{"*", t.Name} {
				if fr, ok := p.Tables[tn][c.Name]; ok {
					f.action = fr.Action
					f.rules = f.rules[:0]
					for _, a := range []struct {
						act   string
						paths []string
					}{{Drop, fr.Drop}, {Hash, fr.Hash}, {Mask, fr.Mask}} {
						for _, s := range a.paths {
							pp, _ := parsePath(s)
							f.rules = append(f.rules, rule{pp, a.act})
						}
					}
				}
			}
			// A rule on the whole document is a column action.
			for _, ru := range f.rules {
				if ru.p.match(nil) && (f.action == "" || rank(ru.action) > rank(f.action)) {
					f.action = ru.action
				}
			}
			if f.action == Hash || len(f.rules) > 0 && slices.ContainsFunc(f.rules, func(r rule) bool { return r.action == Hash }) {
				needKey = true
			}
			f.detect = anyDetector && (k == fString || k == fStringPtr) &&
				(slices.Contains(detectIn, c.Name) || slices.Contains(detectIn, t.Name+"."+c.Name))
			for _, kind := range p.HashIDs {
				for _, ic := range idKinds[kind] {
					if ic.table == t.Name && ic.column == c.Name {
						f.idHash = true
						if ic.objectType != "" {
							f.idTypes = append(f.idTypes, ic.objectType)
						} else {
							f.idTypes = nil
						}
					}
				}
			}
			if len(f.idTypes) > 0 {
				f.typeIdx, _, _ = columnField(t, "object_type")
			}
			if f.action == "" && len(f.rules) == 0 && !f.detect && !f.idHash {
				continue
			}
			f.base = len(r.fields) * nCounters
			r.fields = append(r.fields, f)
			plans = append(plans, f)
		}
		if len(plans) > 0 {
			r.plans[t.Name] = plans
		}
	}
	r.counts = make([]atomic.Int64, len(r.fields)*nCounters)
	if needKey {
		if getenv == nil {
			return nil, fmt.Errorf("%w: no environment to read %s from", ErrPolicy, p.HMACKeyEnv)
		}
		key := getenv(p.HMACKeyEnv)
		if len(key) < 16 {
			return nil, fmt.Errorf("%w: the HMAC key in $%s must be at least 16 bytes (it is %d)", ErrPolicy, p.HMACKeyEnv, len(key))
		}
		r.key = []byte(key)
	}
	r.macs.New = func() any { return hmac.New(sha256.New, r.key) }
	r.rws.New = func() any { return &rewriter{r: r} }
	return r, nil
}

// PolicyHash is the policy's SHA-256 (Policy.Hash), recorded in manifests.
func (r *Redactor) PolicyHash() string { return r.hash }

// KeyEnv names the environment variable of the HMAC key ("" if unused).
func (r *Redactor) KeyEnv() string {
	if r.key == nil {
		return ""
	}
	return r.pol.HMACKeyEnv
}

// DetectorNames lists the enabled detectors.
func (r *Redactor) DetectorNames() []string {
	var out []string
	for k := range numKinds {
		if r.det.on[k] {
			out = append(out, kindNames[k])
		}
	}
	return out
}

// Count is how often one detector or rule fired on one column.
type Count struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	What   string `json:"what"` // a detector name, or drop, hash, mask
	N      int64  `json:"n"`
}

// Counts returns the non-zero counts so far, by table, column and what.
func (r *Redactor) Counts() []Count {
	var out []Count
	for _, f := range r.fields {
		for k := 0; k < nCounters; k++ {
			if n := r.counts[f.base+k].Load(); n > 0 {
				out = append(out, Count{Table: f.table, Column: f.col, What: counterNames[k], N: n})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.What < b.What
	})
	return out
}

func (r *Redactor) count(f *fieldPlan, k int) {
	if f.base >= 0 {
		r.counts[f.base+k].Add(1)
	}
}

// hmacHex is the hash of a value: HMAC-SHA256 with the policy's key,
// truncated to 128 bits, as 32 lowercase hex digits (which is also a valid
// OpenTelemetry trace id).
func (r *Redactor) hmacHex(s string) string {
	m := r.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(s))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0])[:16])
	r.macs.Put(m)
	return out
}

func (r *Redactor) hmacTag(s string) string { return "[HMAC:" + r.hmacHex(s) + "]" }

// isHMAC reports whether s is a tag hmacTag wrote.
func isHMAC(s string) bool {
	if len(s) != 6+32+1 || !strings.HasPrefix(s, "[HMAC:") || s[len(s)-1] != ']' {
		return false
	}
	for i := 6; i < 38; i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

// hashID hashes an id. A Langfuse placeholder root's id t-<trace id>
// becomes t-<hash of the trace id>, so that it still names its trace.
func (r *Redactor) hashID(s string) string {
	if rest, ok := strings.CutPrefix(s, "t-"); ok && rest != "" {
		return "t-" + r.hmacHex(rest)
	}
	return r.hmacHex(s)
}

// Row applies the policy to one row of table t (a *T of the table's row
// type). It never modifies row: when something changes it returns a
// shallow copy with the changed fields replaced, else row itself.
func (r *Redactor) Row(t *schema.Table, row any) (any, error) {
	plans := r.plans[t.Name]
	if len(plans) == 0 {
		return row, nil
	}
	v := reflect.ValueOf(row)
	if v.Kind() != reflect.Pointer || v.Elem().Type() != t.RowType() {
		return nil, fmt.Errorf("redact: row of %s is a %T", t.Name, row)
	}
	v = v.Elem()
	var cp reflect.Value
	set := func(f *fieldPlan, x reflect.Value) {
		if !cp.IsValid() {
			cp = reflect.New(v.Type()).Elem()
			cp.Set(v)
		}
		cp.Field(f.index).Set(x)
	}
	for _, f := range plans {
		fv := v.Field(f.index)
		switch f.kind {
		case fStringPtr:
			if fv.IsNil() {
				continue
			}
			out, null, changed := r.apply(f, fv.Elem().String(), v)
			if null {
				set(f, reflect.Zero(stringPtrType))
			} else if changed {
				set(f, reflect.ValueOf(&out))
			}
		case fString:
			if out, null, changed := r.apply(f, fv.String(), v); null {
				set(f, reflect.ValueOf(""))
			} else if changed {
				set(f, reflect.ValueOf(out))
			}
		case fStrings:
			if fv.Len() == 0 {
				continue
			}
			if f.action == Drop {
				set(f, reflect.Zero(stringsType))
				r.count(f, nDrop)
				continue
			}
			in := fv.Interface().([]string)
			var out []string
			for i, s := range in {
				o, _, changed := r.apply(f, s, v)
				if changed && out == nil {
					out = slices.Clone(in)
				}
				if out != nil {
					out[i] = o
				}
			}
			if out != nil {
				set(f, reflect.ValueOf(out))
			}
		case fMap:
			if f.action == Drop && fv.Len() > 0 {
				set(f, reflect.Zero(fv.Type()))
				r.count(f, nDrop)
			}
		}
	}
	if !cp.IsValid() {
		return row, nil
	}
	return cp.Addr().Interface(), nil
}

// Value redacts one value of a string column that has no conditions on
// other columns (an id column of the media table, say) as Row would.
func (r *Redactor) Value(table, column, s string) string {
	for _, f := range r.plans[table] {
		if f.col == column && (f.kind == fString || f.kind == fStringPtr) && len(f.idTypes) == 0 {
			out, _, _ := r.apply(f, s, reflect.Value{})
			return out
		}
	}
	return s
}

// apply redacts one string value of field f in row v: null says drop it.
func (r *Redactor) apply(f *fieldPlan, s string, v reflect.Value) (out string, null, changed bool) {
	switch f.action {
	case Drop:
		r.count(f, nDrop)
		return "", true, true
	case Hash:
		r.count(f, nHash)
		if f.json {
			if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' {
				if e, esc := strEnd(t, 0); e == len(t) {
					s = unquote(t, esc)
				}
			}
			return `"` + r.hmacTag(s) + `"`, false, true
		}
		return r.hmacHex(s), false, true
	case Mask:
		r.count(f, nMask)
		if f.json {
			return `"` + maskText + `"`, false, true
		}
		return maskText, false, true
	}
	if f.idHash && s != "" && (f.idTypes == nil || slices.Contains(f.idTypes, v.Field(f.typeIdx).String())) {
		r.count(f, nHash)
		if f.col == "html_path" {
			// /project/<project>/traces/<trace id>: the id is hashed.
			k := strings.LastIndexByte(s, '/')
			return s[:k+1] + r.hashID(s[k+1:]), false, true
		}
		return r.hashID(s), false, true
	}
	if f.json {
		w := r.rws.Get().(*rewriter)
		w.f = f
		out, changed = w.rewrite(s)
		w.s, w.out = "", nil
		r.rws.Put(w)
		return out, false, changed
	}
	if f.detect {
		w := r.rws.Get().(*rewriter)
		w.f, w.s, w.out, w.last = f, s, nil, 0
		w.detect(0, len(s), false)
		if w.out != nil {
			w.out = append(w.out, s[w.last:]...)
			out, changed = string(w.out), true
		}
		w.s, w.out = "", nil
		r.rws.Put(w)
		if changed {
			return out, false, true
		}
	}
	return s, false, false
}

// String redacts free text with the detectors (for tests and tools).
func (r *Redactor) String(s string) string {
	f := &fieldPlan{detect: true, base: -1}
	w := &rewriter{r: r, f: f, s: s}
	w.spans = r.det.find(s, false, nil)
	for _, sp := range w.spans {
		w.edit(sp.a, sp.b, placeholders[sp.k])
	}
	if w.out == nil {
		return s
	}
	return string(append(w.out, s[w.last:]...))
}

// JSON redacts a JSON document with the detectors only (for tests and
// tools); text that is not JSON is redacted as plain text.
func (r *Redactor) JSON(s string) string {
	f := &fieldPlan{detect: true, base: -1}
	w := &rewriter{r: r, f: f}
	out, _ := w.rewrite(s)
	return out
}

// MediaKept reports whether a media reference found in column field of a
// row of table (at the JSONPath jsonPath inside it) survives the policy:
// not when the column is dropped, hashed or masked, nor when a rule
// selects the reference's location or a value that contains it. Detectors
// never touch media tokens. field may be the API's name (expectedOutput).
func (r *Redactor) MediaKept(table, field, jsonPath string) bool {
	if field == "expectedOutput" {
		field = "expected_output"
	}
	var f *fieldPlan
	for _, p := range r.plans[table] {
		if p.col == field {
			f = p
		}
	}
	if f == nil {
		return true
	}
	if f.action != "" {
		return false
	}
	if len(f.rules) == 0 {
		return true
	}
	loc, ok := parseLocation(jsonPath)
	if !ok {
		return false // cannot tell where it is: keep nothing a rule might cover
	}
	for k := 0; k <= len(loc); k++ {
		for _, ru := range f.rules {
			if ru.p.match(loc[:k]) {
				return false
			}
		}
	}
	return true
}

// MediaRowKept is MediaKept for a row of the media table.
func (r *Redactor) MediaRowKept(m *schema.MediaReference) bool {
	if m.Field == nil {
		return true
	}
	table := "traces"
	switch {
	case m.DatasetItemID != nil:
		table = "dataset_items"
	case m.ObservationID != nil:
		table = "observations"
	}
	jp := "$"
	if m.JSONPath != nil {
		jp = *m.JSONPath
	}
	return r.MediaKept(table, *m.Field, jp)
}
