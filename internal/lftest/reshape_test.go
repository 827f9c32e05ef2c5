package lftest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func sameJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %q is not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// Cases from normalizeToolMetadataForObservation
// (packages/shared/src/server/ingestion/extractToolsBackend.ts).
func TestToolsIntoInput(t *testing.T) {
	const tool = `{"type":"function","function":{"name":"lookup","parameters":{}}}`
	const md = `{"scope":{"name":"langfuse-sdk"},"tools":[` + tool + `],"k":"v"}`
	s := func(v string) *string { return &v }
	cases := []struct {
		name     string
		input    *string
		metadata string
		in, out  string // out "" = nothing moves
	}{
		{"array input", s(`[{"role":"user","content":"hi"}]`), md, `{"messages":[{"role":"user","content":"hi"}],"tools":[` + tool + `]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"object input", s(`{"q":1}`), md, `{"q":1,"tools":[` + tool + `]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"no input", nil, md, `{"tools":[` + tool + `]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"plain string", s(`hello`), md, `{"prompt":"hello","tools":[` + tool + `]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"JSON string", s(`"hello"`), md, `{"prompt":"hello","tools":[` + tool + `]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"existing tools merged, deduped", s(`{"tools":[{"name":"other"},{"name":"lookup"}]}`), md,
			`{"tools":[{"name":"other"},{"name":"lookup"}]}`, `{"scope":{"name":"langfuse-sdk"},"k":"v"}`},
		{"tools as JSON text", s(`{"q":1}`), `{"tools":"[{\"name\":\"a\"}]"}`, `{"q":1,"tools":[{"name":"a"}]}`, `{}`},
		{"number input", s(`42`), md, "", ""},
		{"existing non-tool tools", s(`{"tools":[1,2]}`), md, "", ""},
		{"not every item a tool", s(`{"q":1}`), `{"tools":[{"name":"a"},{"x":1}]}`, "", ""},
		{"empty tools", s(`{"q":1}`), `{"tools":[]}`, "", ""},
		{"tools not an array", s(`{"q":1}`), `{"tools":{"name":"a"}}`, "", ""},
		{"no tools", s(`{"q":1}`), `{"k":"v"}`, "", ""},
	}
	// The tool lists parsed are kept by text (toolMemo): a second pass
	// reads them from there, and so do goroutines at once.
	clear(toolMemo.m)
	type result struct {
		in, out string
		moved   bool
	}
	first := map[string]result{}
	for pass := range 2 {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/pass %d", c.name, pass), func(t *testing.T) {
				in, out, moved := ToolsIntoInput(c.input, c.metadata)
				if moved != (c.out != "") {
					t.Fatalf("moved %v, want %v (input %q metadata %q)", moved, c.out != "", in, out)
				}
				if moved {
					sameJSON(t, "input", in, c.in)
					sameJSON(t, "metadata", out, c.out)
				}
				if r := (result{in, out, moved}); pass == 0 {
					first[c.name] = r
				} else if r != first[c.name] {
					t.Errorf("from the memo %+v, first %+v", r, first[c.name])
				}
			})
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, c := range cases {
				if in, out, moved := ToolsIntoInput(c.input, c.metadata); (result{in, out, moved}) != first[c.name] {
					t.Errorf("%s: at once %q %q %v, first %+v", c.name, in, out, moved, first[c.name])
				}
			}
		})
	}
	wg.Wait()
}

// Cases from flattenJsonToPathArrays (packages/shared/src/server/otel/utils.ts).
func TestFlattenMetadataJSON(t *testing.T) {
	got, ok := FlattenMetadataJSON(`{"a":{"b":"x","c":{"d":1}},"e":[1,{"f":2}],"g":null,"h":{},"i":true,"j":"s"}`)
	if !ok {
		t.Fatal("not flattened")
	}
	sameJSON(t, "flattened", got, `{"a.b":"x","a.c.d":"1","e":"[1,{\"f\":2}]","g":"","i":"true","j":"s"}`)
	if _, ok := FlattenMetadataJSON(`[1]`); ok {
		t.Error("an array flattened")
	}
}

// An OTLP span with a tools array in its metadata is stored with the tools
// in its input; on v4 its nested metadata is flattened into dotted keys, on
// v3 it keeps top-level keys. Each row keeps its own trace attributes.
func TestOTLPWriteReshapes(t *testing.T) {
	for _, mode := range []Mode{V4, V3} {
		p := NewProject("p", "p")
		sp := otlpSpan{traceID: "0123456789abcdef0123456789abcdef", spanID: "0123456789abcdef", name: "gen",
			start: 1_700_000_000_000_000_000, end: 1_700_000_001_000_000_000, scopeName: "langfuse-sdk", res: map[string]any{},
			attrs: map[string]any{
				"langfuse.observation.input":    `[{"role":"user","content":"hi"}]`,
				"langfuse.observation.metadata": `{"tools":[{"name":"lookup"}],"nested":{"a":{"b":1}}}`,
				"session.id":                    "s-1",
			}}
		if err := p.ingestSpans(mode, []otlpSpan{sp}, time.Unix(1_700_000_100, 0).UTC()); err != nil {
			t.Fatal(err)
		}
		var o *Observation
		p.EachObservation(func(x *Observation, _ *Trace) bool { o = x; return false })
		in, _ := o.Input.Text()
		sameJSON(t, mode.String()+" input", in, `{"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"lookup"}]}`)
		md := metadataStrings(o.Metadata)
		if _, ok := md["tools"]; ok {
			t.Errorf("%s: tools still in metadata %v", mode, md)
		}
		switch mode {
		case V4:
			if md["nested.a.b"] != "1" || md["scope.name"] != "langfuse-sdk" {
				t.Errorf("v4 metadata %v, want dotted keys nested.a.b=1, scope.name", md)
			}
		case V3:
			if md["nested"] != `{"a":{"b":1}}` {
				t.Errorf("v3 metadata %v, want top-level nested", md)
			}
		}
		if o.SessionID == nil || *o.SessionID != "s-1" {
			t.Errorf("%s: row session %v, want its span's s-1", mode, o.SessionID)
		}
	}
}
