package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// The personal data planted into a project, and what a redaction policy
// must remove from it (piiPolicy). Each rule kind appears once.
var (
	piiTraceID = "7f3a9c1e5b2d4f608a1b2c3d4e5f6071"
	piiUser    = "user-alice-7731"
	piiSession = "sess-zz-9981"
	piiRemoved = []string{
		"jane.roe@example.org",                 // email detector
		"+1 415-555-0132",                      // phone detector
		"4111 1111 1111 1111",                  // card detector
		"DE89370400440532013000",               // IBAN detector
		"203.0.113.77",                         // IP detector
		"sk-proj-Q2mP7vL3sR8tW1yB4nC6hJ0dG5aZ", // secret detector
		"hunter2-very-secret",                  // drop path ($..password)
		"Zacharias Quux",                       // hash path
		"confidential note text",               // mask path
		"internal failure for jane",            // column mask (status_message)
		"customer:acme-corp-42",                // column hash of a list (tags)
		piiTraceID, piiUser, piiSession,        // hash_ids
	}
)

const piiPolicy = `# lakefuse redaction policy used by the tests
version: 1
hmac_key_env: LAKEFUSE_TEST_REDACT_KEY
hash_ids: [trace, user, session]
tables:
  "*":
    metadata:
      drop: [password]
    # In v4 a trace's input is its root observation's: rules for I/O
    # belong to every table.
    input:
      drop: ["$.attachment"]
      hash: ["$.customer.name"]
      mask: ["$.notes"]
  observations:
    status_message: mask
    tags: hash
  traces:
    tags: hash
`

// piiProject is a small generated project plus one trace full of personal
// data, with a media reference in a dropped field and one in a kept field.
func piiProject(t *testing.T) (p *lftest.Project, dropped, kept *lftest.Media) {
	t.Helper()
	size := lftest.SizeSmall
	size.Traces = 24 // as newRoundTrip: the generator needs enough traces for its datasets
	p = lftest.Generate(11, size)
	at := lftest.DefaultEnd.Add(-30 * time.Hour)
	dropped = p.AddMedia("image/png", append([]byte("\x89PNG\r\n\x1a\nDROPPED"), bytes.Repeat([]byte{7}, 500)...), at)
	kept = p.AddMedia("image/png", append([]byte("\x89PNG\r\n\x1a\nKEPT"), bytes.Repeat([]byte{9}, 500)...), at)
	tags := []string{"customer:acme-corp-42"}
	tr := &lftest.Trace{ID: piiTraceID, Timestamp: at, Name: ptrS("support-chat"), UserID: ptrS(piiUser), SessionID: ptrS(piiSession),
		Tags: tags, Environment: "default", CreatedAt: at, UpdatedAt: at,
		Input: lftest.ValuePayload(map[string]any{"question": "mail jane.roe@example.org please"})}
	if err := p.UpsertTrace(tr); err != nil {
		t.Fatal(err)
	}
	input := map[string]any{
		"messages":   []any{map[string]any{"role": "user", "content": "I am jane.roe@example.org, IBAN DE89370400440532013000,\nkey sk-proj-Q2mP7vL3sR8tW1yB4nC6hJ0dG5aZ"}},
		"customer":   map[string]any{"name": "Zacharias Quux", "tier": "gold"},
		"notes":      "confidential note text",
		"attachment": lftest.MediaReference(dropped, "base64_data_uri"),
		"image":      lftest.MediaReference(kept, "base64_data_uri"),
	}
	obs := []*lftest.Observation{
		{ID: "a1b2c3d4e5f60718", TraceID: piiTraceID, Type: "GENERATION", Name: ptrS("llm"), StartTime: at, Level: "DEFAULT",
			Environment: "default", StatusMessage: ptrS("internal failure for jane"),
			Input:     lftest.ValuePayload(input),
			Output:    lftest.ValuePayload(map[string]any{"content": "Call +1 415-555-0132 from 203.0.113.77"}),
			Metadata:  lftest.ValuePayload(map[string]any{"password": "hunter2-very-secret", "card": "4111 1111 1111 1111", "keep": "ok"}),
			CreatedAt: at, UpdatedAt: at, UserID: ptrS(piiUser), SessionID: ptrS(piiSession), TraceName: ptrS("support-chat"), Tags: tags},
	}
	if err := p.AddObservations(obs...); err != nil {
		t.Fatal(err)
	}
	return p, dropped, kept
}

func ptrS(s string) *string { return &s }

func writePolicy(t *testing.T) string {
	t.Helper()
	t.Setenv("LAKEFUSE_TEST_REDACT_KEY", "test-key-not-in-any-output-0123")
	path := filepath.Join(t.TempDir(), "policy.yml")
	if err := os.WriteFile(path, []byte(piiPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lakeText is every value of every live row of the lake, and every
// object name, as one string to search.
func lakeText(t *testing.T, loc string) string {
	t.Helper()
	l := openLake(t, loc)
	var sb strings.Builder
	for _, tb := range schema.Tables() {
		for _, r := range rowsOf(t, l, tb.Name) {
			for k, v := range r {
				sb.WriteString(k + "=" + v + "\n")
			}
		}
	}
	err := l.Bucket().List(context.Background(), "", func(o bucket.Attrs) error {
		sb.WriteString("object " + o.Key + "\n")
		if strings.HasPrefix(o.Key, hive.MetaDir) {
			r, err := l.Bucket().Open(context.Background(), o.Key)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
			r.Close()
			if err != nil {
				return err
			}
			sb.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

func checkRemoved(t *testing.T, where, text string) {
	t.Helper()
	for _, v := range append(piiRemoved, "test-key-not-in-any-output-0123") {
		if k := strings.Index(text, v); k >= 0 {
			t.Errorf("%s holds %q, which the policy removes: …%s…", where, v, text[max(0, k-200):min(len(text), k+100)])
		}
	}
	for _, p := range []string{"[REDACTED:email]", "[REDACTED:phone]", "[REDACTED:credit_card]", "[REDACTED:iban]", "[REDACTED:ip]",
		"[REDACTED:secret]", "[MASKED]", "[HMAC:"} {
		if !strings.Contains(text, p) {
			t.Errorf("%s has no %s", where, p)
		}
	}
}

// bodyRecorder forwards to the test server and keeps every request body
// (gunzipped) with its URL.
type bodyRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (rec *bodyRecorder) proxy(t *testing.T, next http.Handler) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		plain := body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err == nil {
				plain, _ = io.ReadAll(zr)
			}
		}
		rec.mu.Lock()
		rec.buf.WriteString(r.Method + " " + r.URL.String() + "\n")
		rec.buf.Write(plain)
		rec.buf.WriteByte('\n')
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (rec *bodyRecorder) text() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.buf.String()
}

func TestRedactExportAndImport(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			policy := writePolicy(t)
			srv := lftest.NewServer(lftest.Options{Mode: mode})
			t.Cleanup(srv.Close)
			p, dropped, kept := piiProject(t)
			_, apk, ask := srv.AddGeneratedProject(p)
			dir := t.TempDir()
			src := []string{"--public-key=" + apk, "--secret-key=" + ask, "--base-url=" + srv.URL()}

			// Export side: the lake never holds a removed value.
			redacted := filepath.Join(dir, "redacted")
			code, out, errs := run(t, append([]string{"export", redacted, "--redact", policy}, src...)...)
			if code != 0 {
				t.Fatalf("export --redact: %d\n%s\n%s", code, out, errs)
			}
			for _, want := range []string{"redaction policy sha256:", "DETECTOR/RULE", "email", "iban", "credit_card", "secret", "hash", "mask"} {
				if !strings.Contains(out, want) {
					t.Errorf("export summary lacks %q:\n%s", want, out)
				}
			}
			text := lakeText(t, redacted)
			checkRemoved(t, "the redacted lake", text)
			if strings.Contains(text, "_media/"+dropped.ID) || !strings.Contains(text, "_media/"+kept.ID) {
				t.Errorf("media: the dropped field's object must not be exported, the kept one must")
			}
			// Joins still work: the trace's rows share one hashed id.
			l := openLake(t, redacted)
			traceIDs := map[string]bool{}
			for _, r := range rowsOf(t, l, "observations") {
				if strings.Contains(r["input"], "[MASKED]") {
					traceIDs[r["trace_id"]] = true
				}
			}
			found := false
			for _, r := range rowsOf(t, l, "traces") {
				found = found || traceIDs[r["id"]]
			}
			if len(traceIDs) != 1 || !found {
				t.Errorf("hashed trace id of the observation (%v) is not a traces.id", traceIDs)
			}
			// ls shows the policy; the manifest never holds the key.
			code, out, _ = run(t, "ls", redacted)
			if code != 0 || !strings.Contains(out, "was redacted: policy sha256:") || !strings.Contains(out, "$LAKEFUSE_TEST_REDACT_KEY") {
				t.Errorf("ls does not show the redaction:\n%s", out)
			}

			// A redacted round trip: importing the redacted lake sends
			// nothing the policy removed.
			bID, bpk, bsk := srv.AddProject("B")
			var recB bodyRecorder
			proxyB := recB.proxy(t, srv.Handler())
			code, out, errs = run(t, "import", redacted, "--yes", "--wait=3s", "--public-key="+bpk, "--secret-key="+bsk, "--base-url="+proxyB.URL)
			if code != 0 {
				t.Fatalf("import of the redacted lake: %d\n%s\n%s", code, out, errs)
			}
			checkRemoved(t, "what the server received (import of a redacted lake)", recB.text())
			_ = bID

			// Import side: a raw lake imported with --redact.
			raw := filepath.Join(dir, "raw")
			if code, out, errs := run(t, append([]string{"export", raw}, src...)...); code != 0 {
				t.Fatalf("export: %d\n%s\n%s", code, out, errs)
			}
			rawText := lakeText(t, raw)
			for _, v := range piiRemoved {
				if !strings.Contains(rawText, v) {
					t.Fatalf("the raw lake lacks %q: the test would prove nothing", v)
				}
			}
			cID, cpk, csk := srv.AddProject("C")
			var recC bodyRecorder
			proxyC := recC.proxy(t, srv.Handler())
			code, out, errs = run(t, "import", raw, "--redact", policy, "--yes", "--wait=3s", "--public-key="+cpk, "--secret-key="+csk, "--base-url="+proxyC.URL)
			if code != 0 {
				t.Fatalf("import --redact: %d\n%s\n%s", code, out, errs)
			}
			if !strings.Contains(out, "redaction policy sha256:") || !strings.Contains(out, "credit_card") {
				t.Errorf("import summary lacks the redaction counts:\n%s", out)
			}
			if !strings.Contains(out, "redaction policy removes") {
				t.Errorf("import does not say why the dropped field's media was skipped:\n%s", out)
			}
			got := recC.text()
			checkRemoved(t, "what the server received (import --redact)", got)
			// Everything the destination stores: export it and look.
			if p := srv.Project(cID); p.Media(dropped.ID) != nil || p.Media(kept.ID) == nil {
				t.Errorf("destination media: the dropped field's object must not be uploaded, the kept one must")
			}
			dest := filepath.Join(dir, "dest")
			if code, out, errs := run(t, "export", dest, "--public-key="+cpk, "--secret-key="+csk, "--base-url="+srv.URL()); code != 0 {
				t.Fatalf("export of the destination: %d\n%s\n%s", code, out, errs)
			}
			checkRemoved(t, "the destination project", lakeText(t, dest))

			// A resumed import must keep its policy.
			code, _, errs = run(t, "import", raw, "--yes", "--wait=3s", "--public-key="+cpk, "--secret-key="+csk, "--base-url="+srv.URL())
			if code != 2 || !strings.Contains(errs, "redaction policy") {
				t.Errorf("import without --redact after one with it: exit %d, %s", code, errs)
			}
		})
	}
}

func TestRedactPolicyErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"tables":{"traces":{"id":"drop"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "export", t.TempDir(), "--redact", path, "--public-key=pk-lf-x", "--secret-key=sk-lf-x", "--base-url=http://127.0.0.1:1")
	if code != 2 || !strings.Contains(errs, "traces.id") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestRedactConvertLangsmith(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bucket")
	n := writeLSExport(t, src, bucket.Options{})
	policy := filepath.Join(dir, "policy.json")
	t.Setenv("LAKEFUSE_TEST_REDACT_KEY", "test-key-not-in-any-output-0123")
	if err := os.WriteFile(policy, []byte(`{"version": 1, "hmac_key_env": "LAKEFUSE_TEST_REDACT_KEY", "hash_ids": ["trace"],
		"tables": {"*": {"output": "drop"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(dir, "lake")
	code, out, errOut := run(t, "convert", "langsmith", src+"/exports", lake, "--redact", policy)
	if code != 0 {
		t.Fatalf("convert --redact: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "redaction policy sha256:") || !strings.Contains(out, "was redacted") {
		t.Errorf("summary does not show the redaction:\n%s", out)
	}
	l := openLake(t, lake)
	traces := map[string]bool{}
	for _, r := range rowsOf(t, l, "traces") {
		traces[r["id"]] = true
		if r["output"] != "<null>" {
			t.Fatalf("trace output kept: %s", r["output"])
		}
	}
	obs := rowsOf(t, l, "observations")
	if len(obs) != n {
		t.Fatalf("%d observations, want %d", len(obs), n)
	}
	for _, r := range obs {
		if r["output"] != "<null>" {
			t.Fatalf("observation output kept: %s", r["output"])
		}
		if len(r["trace_id"]) != 32 || !traces[r["trace_id"]] {
			t.Fatalf("trace_id %q is not a hashed traces.id", r["trace_id"])
		}
	}
}
