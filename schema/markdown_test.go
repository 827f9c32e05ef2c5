package schema

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/schema.md from the table definitions")

const schemaDoc = "../docs/schema.md"

// docs/schema.md is generated; this fails when someone changes a table
// without regenerating it.
func TestSchemaDoc(t *testing.T) {
	want := Markdown()
	if *update {
		if err := os.WriteFile(schemaDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaDoc)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./schema -run TestSchemaDoc -update)", err)
	}
	if string(got) != want {
		t.Errorf("%s is stale: regenerate it with: go test ./schema -run TestSchemaDoc -update\n%s", schemaDoc, firstDiff(string(got), want))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  file: " + gl + "\n  code: " + wl
		}
	}
	return ""
}

func TestMarkdown(t *testing.T) {
	md := Markdown()
	for _, want := range []string{
		"Schema version: **2**",
		"| [`traces`](#traces) | `dt` of `timestamp` | `id` | ",
		"| [`prompts`](#prompts) | snapshot | `name`, `version` | ",
		"- Path: `observations/project_id=<id>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet`, dt = UTC date of `start_time`",
		"- Path: `models/project_id=<id>/part-<run>-<seq>.parquet` (snapshot)",
		"| `input` | STRING (JSON) | yes | ",
		"| `start_time` | TIMESTAMP(MICROS, UTC) | no | ",
		"| `tags` | LIST<STRING> | yes | ",
		"| `usage_details` | MAP<STRING, INT64> | yes | ",
		"| `cost_details` | MAP<STRING, DOUBLE> | yes | ",
		"| `prompt_version` | INT64 | yes | ",
		"| `public` | BOOLEAN | no | ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown() lacks %q", want)
		}
	}
	for _, tbl := range Tables() {
		if !strings.Contains(md, "\n## "+tbl.Name+"\n\n"+text(tbl.Doc)+"\n") {
			t.Errorf("Markdown() has no section for %s with its Doc", tbl.Name)
		}
		for _, c := range tbl.Columns {
			if !strings.Contains(md, "| `"+c.Name+"` | "+TypeName(c)+" | ") {
				t.Errorf("Markdown(): table %s lacks column %s", tbl.Name, c.Name)
			}
		}
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, text, cell string }{
		{"a|b\nc", "a|b\nc", `a\|b c`},
		{"bytes in _media/<id> (_x) a_b", `bytes in \_media/&lt;id&gt; (\_x) a_b`, `bytes in \_media/&lt;id&gt; (\_x) a_b`},
		{"_lead", `\_lead`, `\_lead`},
	} {
		if got := text(tc.in); got != tc.text {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.text)
		}
		if got := cell(tc.in); got != tc.cell {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.cell)
		}
	}
}
