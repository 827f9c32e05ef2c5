// Package sample makes deterministic rows for every table of the lake, for
// tests, benchmarks and `lakefuse demo --sample`. It fills rows generically
// from the schema, so a column added to a table is covered without a change
// here. Realistic Langfuse projects come from internal/lftest instead.
package sample

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/schema"
)

// Options shapes the generated rows.
type Options struct {
	// Start is the time of row 0; rows are Step apart.
	Start time.Time
	Step  time.Duration
	// PayloadBytes pads each JSON column to about this size.
	PayloadBytes int
}

func (o *Options) defaults() {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Step == 0 {
		o.Step = 97 * time.Second
	}
}

var enums = map[string][]string{
	"type":        {"SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"},
	"level":       {"DEFAULT", "DEBUG", "WARNING", "ERROR"},
	"data_type":   {"NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT"},
	"environment": {"default", "production"},
	"status":      {"ACTIVE", "ARCHIVED"},
	"source":      {"API", "EVAL", "ANNOTATION"},
	"object_type": {"TRACE", "OBSERVATION", "SESSION"},
}

// Generator fills rows of one table.
type Generator struct {
	t    *schema.Table
	opts Options
	pad  string
}

// New returns a generator for t.
func New(t *schema.Table, opts Options) *Generator {
	opts.defaults()
	return &Generator{t: t, opts: opts, pad: strings.Repeat("lorem ipsum ", opts.PayloadBytes/12+1)[:opts.PayloadBytes]}
}

// Row fills row i into dst, a *T of the table's row type.
func (g *Generator) Row(i int, dst any) {
	v := reflect.ValueOf(dst).Elem()
	rt := v.Type()
	at := g.opts.Start.Add(time.Duration(i) * g.opts.Step)
	for fi := 0; fi < rt.NumField(); fi++ {
		tag, ok := rt.Field(fi).Tag.Lookup("lake")
		if !ok {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		f := v.Field(fi)
		null := (i+fi)%7 == 0 && name != "id"
		g.fill(f, name, opt == "json", i, at, null)
	}
}

func (g *Generator) fill(f reflect.Value, name string, isJSON bool, i int, at time.Time, null bool) {
	if f.Kind() == reflect.Pointer {
		if null {
			f.SetZero()
			return
		}
		p := reflect.New(f.Type().Elem())
		g.fill(p.Elem(), name, isJSON, i, at, false)
		f.Set(p)
		return
	}
	switch f.Interface().(type) {
	case string:
		switch {
		case isJSON:
			f.SetString(fmt.Sprintf(`{"i":%d,"text":"こんにちは 🎉 \"quoted\"","nested":{"list":[1,2.5,null,true]},"pad":%q}`, i, g.pad))
		case enums[name] != nil:
			e := enums[name]
			f.SetString(e[i%len(e)])
		case name == "id":
			f.SetString(fmt.Sprintf("%s-%08d", g.t.Name, i))
		case strings.HasSuffix(name, "_id"):
			f.SetString(fmt.Sprintf("%s-%d", strings.TrimSuffix(name, "_id"), i%50))
		case name == "name":
			f.SetString(fmt.Sprintf("folder/sub/%s-%d 日本", g.t.Name, i%20))
		default:
			f.SetString(fmt.Sprintf("%s %d", name, i))
		}
	case bool:
		f.SetBool(i%2 == 0)
	case int64:
		f.SetInt(int64(i%9 + 1))
	case float64:
		f.SetFloat(float64(i%1000) / 8)
	case time.Time:
		if name == g.t.TimeColumn {
			f.Set(reflect.ValueOf(at))
		} else {
			f.Set(reflect.ValueOf(at.Add(1500 * time.Millisecond)))
		}
	case []string:
		f.Set(reflect.ValueOf([]string{"tag-a", fmt.Sprintf("tag-%d", i%4)}))
	case map[string]int64:
		f.Set(reflect.ValueOf(map[string]int64{"input": int64(i % 300), "output": 42, "total": int64(i%300) + 42}))
	case map[string]float64:
		f.Set(reflect.ValueOf(map[string]float64{"input": 0.001, "output": 0.002, "total": 0.003}))
	case map[string]string:
		f.Set(reflect.ValueOf(map[string]string{"k": fmt.Sprint(i)}))
	default:
		panic(fmt.Sprintf("sample: no filler for %s (%s)", f.Type(), name))
	}
}

// Write appends n rows of every table to run under projectID.
func Write(ctx context.Context, run *hive.Run, projectID string, n int, opts Options) error {
	for _, t := range schema.Tables() {
		g := New(t, opts)
		row := t.NewRow()
		for i := 0; i < n; i++ {
			g.Row(i, row)
			if err := run.Append(ctx, t, projectID, row); err != nil {
				return err
			}
		}
		run.Touch(t.Name)
	}
	return nil
}
