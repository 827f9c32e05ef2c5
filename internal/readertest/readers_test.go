package readertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// tableSpec tells a reader which values of a table to report: those of the
// row with the smallest key.
type tableSpec struct {
	Name        string   `json:"name"`
	Key         []string `json:"key"`
	JSON        string   `json:"json"`
	Time        string   `json:"time"`
	Partitioned bool     `json:"partitioned"`
}

// summary is what a reader reports of one table. Values are text: times in
// milliseconds since the epoch (what a JavaScript Date holds), JSON as JSON.
type summary struct {
	Error    string   `json:"error,omitempty"`
	Rows     int64    `json:"rows"`
	Columns  []string `json:"columns"`
	Projects []string `json:"projects"`
	Key      string   `json:"key"`
	JSON     *string  `json:"json"`
	Time     *string  `json:"time"`
	Dt       *string  `json:"dt"`
}

// extraReaders are readers compared besides the JavaScript ones (DuckDB
// with the duckdb build tag).
var extraReaders = map[string]func(t *testing.T, dir string, specs []tableSpec) map[string]summary{}

func specs() []tableSpec {
	var out []tableSpec
	for _, tbl := range schema.Tables() {
		s := tableSpec{Name: tbl.Name, Key: tbl.Key, Time: tbl.TimeColumn, Partitioned: tbl.Partitioned()}
		for _, c := range tbl.Columns {
			if c.JSON {
				s.JSON = c.Name
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// demoLake exports the demo's generated project (the one `lakefuse demo`
// serves) into a local lake.
func demoLake(t *testing.T) (string, *hive.Lake) {
	t.Helper()
	ctx := context.Background()
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddGeneratedProject(lftest.Generate(1, lftest.SizeSmall))
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: client, To: lftest.DefaultEnd.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	lake, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return dir, lake
}

// findNodeReaders returns node and the directory holding node_modules with
// nodejs-polars and hyparquet, or skips (fails under CI=true).
func findNodeReaders(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true, so this fails instead of skipping): run .ci/install-node-readers and set LAKEFUSE_NODE_READERS", why)
		}
		t.Skipf("%s: run .ci/install-node-readers", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found")
	}
	dir = os.Getenv("LAKEFUSE_NODE_READERS")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			matches, _ := filepath.Glob(filepath.Join(home, ".cache", "lakefuse", "node-readers-*", ".done"))
			var newest time.Time
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil && fi.ModTime().After(newest) {
					dir, newest = filepath.Dir(m), fi.ModTime()
				}
			}
		}
	}
	if dir == "" {
		missing("nodejs-polars and hyparquet not found")
	}
	for _, pkg := range []string{"nodejs-polars", "hyparquet", "hyparquet-compressors"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing(fmt.Sprintf("%s not installed in %s", pkg, dir))
		}
	}
	return node, dir
}

func TestReadersReadEveryTable(t *testing.T) {
	node, modules := findNodeReaders(t)
	dir, lake := demoLake(t)
	sp := specs()
	want := fromLake(t, lake, sp)

	// Node resolves an ES module's imports from the script's directory.
	work := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "read.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "read.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(modules, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	specJSON, _ := json.Marshal(sp)
	cmd := exec.Command(node, filepath.Join(work, "read.mjs"), dir, string(specJSON))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	// A warning (Polars falling back from an unknown extension type) or a
	// panic message is a failure even when the rows come out.
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("the readers wrote to stderr:\n%s", s)
	}
	var got map[string]map[string]summary
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("reader output: %v\n%s", err, stdout.String())
	}
	readers := map[string]map[string]summary{}
	for table, byReader := range got {
		for reader, s := range byReader {
			if readers[reader] == nil {
				readers[reader] = map[string]summary{}
			}
			readers[reader][table] = s
		}
	}
	for name, read := range extraReaders {
		readers[name] = read(t, dir, sp)
	}
	for _, reader := range slices.Sorted(maps.Keys(readers)) {
		for _, s := range sp {
			t.Run(reader+"/"+s.Name, func(t *testing.T) {
				compare(t, want[s.Name], readers[reader][s.Name])
			})
		}
	}
}

func compare(t *testing.T, want, got summary) {
	t.Helper()
	if got.Error != "" {
		t.Fatalf("cannot read the table: %s", got.Error)
	}
	if got.Rows != want.Rows {
		t.Errorf("%d rows, lakefuse reads %d", got.Rows, want.Rows)
	}
	if !slices.Equal(got.Columns, want.Columns) {
		t.Errorf("columns %q, want %q", got.Columns, want.Columns)
	}
	if !slices.Equal(got.Projects, want.Projects) {
		t.Errorf("project ids %q, want %q", got.Projects, want.Projects)
	}
	if got.Key != want.Key {
		t.Errorf("smallest key %q, want %q", got.Key, want.Key)
	}
	if !sameJSON(got.JSON, want.JSON) {
		t.Errorf("JSON value of the first row %s, want %s", str(got.JSON), str(want.JSON))
	}
	if str(got.Time) != str(want.Time) {
		t.Errorf("time of the first row %s, want %s", str(got.Time), str(want.Time))
	}
	if str(got.Dt) != str(want.Dt) {
		t.Errorf("dt of the first row %s, want %s", str(got.Dt), str(want.Dt))
	}
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func sameJSON(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(*a), &x) != nil || json.Unmarshal([]byte(*b), &y) != nil {
		return *a == *b
	}
	return reflect.DeepEqual(x, y)
}

// fromLake is what lakefuse's own reader reads: the reference the other
// readers are compared with.
func fromLake(t *testing.T, lake *hive.Lake, sp []tableSpec) map[string]summary {
	t.Helper()
	out := map[string]summary{}
	for _, s := range sp {
		tbl, err := schema.Lookup(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		sum := summary{Columns: []string{"project_id"}}
		for _, c := range tbl.Columns {
			sum.Columns = append(sum.Columns, c.Name)
		}
		if s.Partitioned {
			sum.Columns = append(sum.Columns, "dt")
		}
		slices.Sort(sum.Columns)
		projects := map[string]bool{}
		first := false
		err = lake.Scan(context.Background(), s.Name, hive.ScanOptions{}, func(b hive.Batch) error {
			rec := b.Record
			col := func(name string) arrow.Array {
				for i, f := range rec.Schema().Fields() {
					if f.Name == name {
						return rec.Column(i)
					}
				}
				t.Fatalf("%s: no column %s", s.Name, name)
				return nil
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				sum.Rows++
				projects[b.Partition.ProjectID] = true
				var key []string
				for _, k := range s.Key {
					v := text(col(k), i)
					key = append(key, str0(v))
				}
				k := strings.Join(key, "\x1f")
				if first && k >= sum.Key {
					continue
				}
				first = true
				sum.Key = k
				sum.JSON, sum.Time, sum.Dt = nil, nil, nil
				if s.JSON != "" {
					sum.JSON = text(col(s.JSON), i)
				}
				if s.Time != "" {
					sum.Time = text(col(s.Time), i)
				}
				if s.Partitioned {
					d := b.Partition.Date
					sum.Dt = &d
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sum.Projects = slices.Sorted(maps.Keys(projects))
		out[s.Name] = sum
	}
	return out
}

func str0(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// text renders a value the way read.mjs does: times as milliseconds since
// the epoch, numbers in decimal, strings as they are.
func text(a arrow.Array, i int) *string {
	if a.IsNull(i) {
		return nil
	}
	if ea, ok := a.(array.ExtensionArray); ok {
		a = ea.Storage()
	}
	var s string
	switch a := a.(type) {
	case *array.String:
		s = a.Value(i)
	case *array.Binary:
		s = string(a.Value(i))
	case *array.Int64:
		s = strconv.FormatInt(a.Value(i), 10)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		s = strconv.FormatInt(a.Value(i).ToTime(unit).UnixMilli(), 10)
	default:
		s = a.ValueStr(i)
	}
	return &s
}
