package lftest

import (
	"math"
	"testing"
	"time"
)

// TestObsV2AppendJSONMatchesMarshal checks the hand encoder against
// encoding/json for every generated observation, with every field group,
// with none, and with each group alone.
func TestObsV2AppendJSONMatchesMarshal(t *testing.T) {
	s := New(Options{Mode: V4})
	p := Generate(7, SizeSmall)
	s.AddGeneratedProject(p)
	c := &call{s: s, p: p, now: time.Now()}
	groupSets := []fieldGroups{{"core": true}}
	all := fieldGroups{}
	for _, g := range v2FieldGroups {
		all[g] = true
		groupSets = append(groupSets, fieldGroups{"core": true, g: true})
	}
	groupSets = append(groupSets, all)
	tr := c.tr()
	n := 0
	for i := 0; i < tr.obsLen(); i++ {
		o := tr.obsAt(i)
		for _, g := range groupSets {
			v := c.obsV2(o, g, metadataExpansion{keys: map[string]bool{}})
			want, err := marshalJSON(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.appendJSON(nil); string(got) != string(want) {
				t.Fatalf("observation %s, groups %v:\n got %s\nwant %s", o.ID, g, got, want)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no observations generated")
	}
	// Values the generator does not produce.
	s1, f1, f2, f3 := "a\u2028b\x80\x01\"\\", 1e-7, 1e21, -0.000001
	v := obsV2JSON{ID: "\t\n", ParentObservationID: &s1,
		v2Usage:        &v2Usage{CostDetails: map[string]float64{"b": f2, "a": f1, "c": f3, "d": 123456.789}, TotalCost: &f1},
		v2Model:        &v2Model{ModelParameters: []byte(`{ "a" : [1, 2] }`)},
		v2Metadata:     &v2Metadata{Metadata: map[string]string{"z": s1, "\u00e9": "", "a": "<&>"}},
		v2TraceContext: &v2TraceContext{}}
	want, err := marshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.appendJSON(nil); string(got) != string(want) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "日本語 ✨", "\u2028\u2029", "\x00\x1f\b\f\n\r\t\"\\/", "\xff\xfe", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := marshalJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1.5, 1e-7, 1e20, 1e21, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return
		}
		want, err := marshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}
