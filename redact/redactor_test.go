package redact

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/schema"
)

const testKey = "test-hmac-key-0123456789"

func env(k string) string {
	if k == "LAKEFUSE_REDACT_KEY" {
		return testKey
	}
	return ""
}

func mustRedactor(t testing.TB, policy string) *Redactor {
	t.Helper()
	p, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(p, env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

const rulesPolicy = `
version: 1
hmac_key_env: LAKEFUSE_REDACT_KEY
detectors: [email, secret]
hash_ids: [trace, observation, user, session]
tables:
  "*":
    metadata:
      drop: [password, "$.internal"]
  observations:
    input:
      drop: ["$.messages[*].attachments"]
      hash: ["$.customer.email"]
      mask: ["$.messages[1].content"]
    status_message: mask
    tags: hash
    usage_details: drop
  traces:
    output: drop
`

func TestRowRules(t *testing.T) {
	r := mustRedactor(t, rulesPolicy)
	in := &schema.Observation{
		ID: "obs-1", TraceID: ptr("trace-1"), ParentObservationID: ptr("t-trace-1"), UserID: ptr("user-1"), SessionID: ptr("s-1"),
		Input: ptr(`{"customer":{"email":"c@example.com","name":"Carl"},"messages":[{"role":"user","content":"hi, I am a@example.com","attachments":[1,2]},` +
			`{"role":"assistant","content":"secret answer"}]}`),
		Metadata:      ptr(`{"password":"hunter2","nested":{"password":{"x":1},"keep":"k"},"internal":true,"z":"sk-abcdefghijklmnopqrstuvwxyz"}`),
		StatusMessage: ptr("failed for bob"),
		Tags:          []string{"vip", "beta"},
		UsageDetails:  map[string]int64{"input": 3},
	}
	orig := *in
	origInput := *in.Input
	outAny, err := r.Row(schema.Observations, in)
	if err != nil {
		t.Fatal(err)
	}
	out := outAny.(*schema.Observation)
	if *in.Input != origInput || in.ID != orig.ID || in.Tags[0] != "vip" {
		t.Fatal("Row modified its argument")
	}
	h := r.hmacHex
	wantInput := `{"customer":{"email":"[HMAC:` + h("c@example.com") + `]","name":"Carl"},"messages":[{"role":"user","content":"hi, I am [REDACTED:email]"},` +
		`{"role":"assistant","content":"[MASKED]"}]}`
	if *out.Input != wantInput {
		t.Errorf("input\n got %s\nwant %s", *out.Input, wantInput)
	}
	wantMeta := `{"nested":{"keep":"k"},"z":"[REDACTED:secret]"}`
	if *out.Metadata != wantMeta {
		t.Errorf("metadata\n got %s\nwant %s", *out.Metadata, wantMeta)
	}
	for _, s := range []string{*out.Input, *out.Metadata} {
		if !json.Valid([]byte(s)) {
			t.Errorf("invalid JSON %s", s)
		}
	}
	if out.ID != h("obs-1") || *out.TraceID != h("trace-1") || *out.UserID != h("user-1") || *out.SessionID != h("s-1") {
		t.Errorf("ids not hashed: %+v", out)
	}
	if *out.ParentObservationID != "t-"+h("trace-1") {
		t.Errorf("placeholder root parent %s, want t-<hash of the trace id>", *out.ParentObservationID)
	}
	if *out.StatusMessage != "[MASKED]" || out.Tags[0] != h("vip") || out.UsageDetails != nil {
		t.Errorf("column rules: %q %v %v", *out.StatusMessage, out.Tags, out.UsageDetails)
	}
	// The same value hashes alike in every table, so joins still work.
	tr := &schema.Trace{ID: "trace-1", UserID: ptr("user-1"), Output: ptr(`"bye"`), Metadata: ptr(`{"password":1}`)}
	trOut, _ := r.Row(schema.Traces, tr)
	tro := trOut.(*schema.Trace)
	if tro.ID != *out.TraceID || *tro.UserID != *out.UserID || tro.Output != nil || *tro.Metadata != `{}` {
		t.Errorf("trace row %+v", tro)
	}
	cm := &schema.Comment{ID: "c", ObjectType: "TRACE", ObjectID: "trace-1", Content: "x"}
	cmOut, _ := r.Row(schema.Comments, cm)
	if cmOut.(*schema.Comment).ObjectID != h("trace-1") {
		t.Error("comment on a trace: object_id not hashed like the trace id")
	}
	cp := &schema.Comment{ID: "c", ObjectType: "PROMPT", ObjectID: "prompt-1", Content: "x"}
	cpOut, _ := r.Row(schema.Comments, cp)
	if cpOut.(*schema.Comment).ObjectID != "prompt-1" {
		t.Error("comment on a prompt: object_id hashed")
	}
	// A row without anything to change is returned as is.
	sc := &schema.ScoreConfig{ID: "x", Name: "n"}
	if o, _ := r.Row(schema.ScoreConfigs, sc); o != any(sc) {
		t.Error("unchanged row copied")
	}
	counts := map[string]int64{}
	for _, c := range r.Counts() {
		counts[c.Table+"."+c.Column+":"+c.What] += c.N
	}
	for k, want := range map[string]int64{
		"observations.input:email": 1, "observations.input:drop": 1, "observations.input:hash": 1, "observations.input:mask": 1,
		"observations.metadata:drop": 3, "observations.metadata:secret": 1, "observations.id:hash": 1, "traces.output:drop": 1,
		"comments.object_id:hash": 1,
	} {
		if counts[k] != want {
			t.Errorf("count %s = %d, want %d (all: %v)", k, counts[k], want, counts)
		}
	}
}

func TestDropFirstAndAllMembers(t *testing.T) {
	r := mustRedactor(t, "version: 1\ndetectors: []\ntables: {traces: {input: {drop: [a, b]}}}\n")
	for in, want := range map[string]string{
		`{"a":1,"b":2}`:                   `{}`,
		`{ "a" : 1 , "c" : 3 , "b" : 2 }`: `{  "c" : 3  }`,
		`{"c":3,"a":1}`:                   `{"c":3}`,
		`[{"a":1},{"x":{"b":[1]}}]`:       `[{},{"x":{}}]`,
		`"a"`:                             `"a"`,
		`not json {"a":1}`:                `not json {"a":1}`,
	} {
		out, _ := r.Row(schema.Traces, &schema.Trace{Input: ptr(in)})
		if got := *out.(*schema.Trace).Input; got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

func TestDetectKeys(t *testing.T) {
	r := mustRedactor(t, "version: 1\ndetect_keys: true\n")
	out, _ := r.Row(schema.Traces, &schema.Trace{Metadata: ptr(`{"bob@example.com":{"ip":"10.1.2.3"}}`)})
	if got := *out.(*schema.Trace).Metadata; got != `{"[REDACTED:email]":{"ip":"[REDACTED:ip]"}}` {
		t.Fatal(got)
	}
	r = mustRedactor(t, "version: 1\n")
	out, _ = r.Row(schema.Traces, &schema.Trace{Metadata: ptr(`{"bob@example.com":1}`)})
	if got := *out.(*schema.Trace).Metadata; got != `{"bob@example.com":1}` {
		t.Fatal("keys scanned without detect_keys:", got)
	}
}

func TestDetectIn(t *testing.T) {
	r := mustRedactor(t, "version: 1\ndetect_in: [comments.content, scores.comment]\n")
	out, _ := r.Row(schema.Comments, &schema.Comment{ID: "c", Content: "mail bob@example.com"})
	if got := out.(*schema.Comment).Content; got != "mail [REDACTED:email]" {
		t.Fatal(got)
	}
	out, _ = r.Row(schema.Traces, &schema.Trace{Input: ptr(`"bob@example.com"`)})
	if got := *out.(*schema.Trace).Input; got != `"bob@example.com"` {
		t.Fatal("input scanned though detect_in leaves it out:", got)
	}
}

func TestMediaKept(t *testing.T) {
	r := mustRedactor(t, rulesPolicy)
	for _, c := range []struct {
		table, field, path string
		want               bool
	}{
		{"observations", "input", "$.messages[0].content[1].image_url", true},
		{"observations", "input", "$.messages[0].attachments[0]", false},
		{"observations", "input", "$['messages'][1]['content']", false},
		{"observations", "metadata", "$.nested.password.img", false},
		{"observations", "output", "$.x", true},
		{"traces", "output", "$", false},
		{"dataset_items", "metadata", "$.password", false},
		{"dataset_items", "expectedOutput", "$.password", true},
		{"dataset_items", "input", "$", true},
	} {
		if got := r.MediaKept(c.table, c.field, c.path); got != c.want {
			t.Errorf("MediaKept(%s, %s, %s) = %v", c.table, c.field, c.path, got)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	_, err := ParsePolicy([]byte(`
version: 2
detectors: [email, telepathy]
hash_ids: [tenant]
tables:
  nosuch: {x: drop}
  traces:
    id: drop
    nosuch: hash
    input: {drop: ["$.a["]}
    timestamp: mask
    user_id: {drop: [x]}
`))
	if !errors.Is(err, ErrPolicy) {
		t.Fatal(err)
	}
	for _, want := range []string{"version 2", "telepathy", "tenant", "nosuch", "traces.id", "traces.nosuch", "unclosed", "traces.timestamp", "traces.user_id", "hmac_key_env"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := ParsePolicy([]byte("version: 1\nunknown_field: 1\n")); err == nil {
		t.Error("unknown field accepted")
	}
	p, _ := ParsePolicy([]byte("version: 1\nhmac_key_env: NOPE\nhash_ids: [user]\n"))
	if _, err := New(p, env); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("missing key: %v", err)
	}
}

func TestPolicyHashYAMLAndJSON(t *testing.T) {
	y, err := ParsePolicy([]byte("version: 1\nhmac_key_env: K\ntables:\n  traces:\n    input: {drop: [b, a]}\n    user_id: hash\n"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParsePolicy([]byte(`{"version":1,"hmac_key_env":"K","tables":{"traces":{"user_id":"hash","input":{"drop":["a","b"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if y.Hash() != j.Hash() || !strings.HasPrefix(y.Hash(), "sha256:") {
		t.Fatalf("%s != %s", y.Hash(), j.Hash())
	}
	o, _ := ParsePolicy([]byte("version: 1\nhmac_key_env: K\ntables:\n  traces:\n    user_id: mask\n"))
	if o.Hash() == y.Hash() {
		t.Fatal("different policies hash alike")
	}
}

func TestHMACKeyChangesHashes(t *testing.T) {
	p, _ := ParsePolicy([]byte("version: 1\nhmac_key_env: K\nhash_ids: [user]\n"))
	a, _ := New(p, func(string) string { return "key-one-0123456789" })
	b, _ := New(p, func(string) string { return "key-two-0123456789" })
	a2, _ := New(p, func(string) string { return "key-one-0123456789" })
	if a.hmacHex("u") == b.hmacHex("u") || a.hmacHex("u") != a2.hmacHex("u") || len(a.hmacHex("u")) != 32 {
		t.Fatal("HMAC not keyed or not stable")
	}
}
