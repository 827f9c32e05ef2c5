package redact

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"bob@example.com", "jürgen@exämple.de", "+1 415-555-0132", "(415) 555-0132", "4111 1111 1111 1111",
	"DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "10.0.0.1", "2001:db8::1", "::ffff:1.2.3.4",
	"sk-proj-abcdefghijklmnopqrstuvwxyz", "sk-lf-1234abcd", "pk-lf-1234abcd", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123",
	"xoxb-1234567890-abc", "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.sig", "Bearer abc123def456ghi789",
	"Xk9fQ2mP7vL3sR8tW1yB4nC6hJ0dG5aZ", "[REDACTED:email]", "[HMAC:0123456789abcdef0123456789abcdef]",
	"@@@langfuseMedia:type=image/png|id=abc|source=bytes@@@ a@b.cd", `{"a":"b@c.de","n":4111111111111111}`,
	`["\u00e9x@y.zz", "\nsk-abcdefghijklmnopqrstuvwxyz"]`, "a@b.co@c.com", "1.2.3.4.5", "+12345678901234567",
	"sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk-sk", "a.a.a.a.a.a.a.a.a.a@", "\xff\xfe@x.com",
}

// FuzzDetectors feeds the detectors random and adversarial text, as plain
// text, as a JSON string and (when it is JSON) as a document, with and
// without path rules: valid UTF-8 stays valid, valid JSON stays valid JSON,
// a second pass changes nothing, nothing panics.
func FuzzDetectors(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	plain := allOn()
	pol, err := ParsePolicy([]byte(`
version: 1
hmac_key_env: K
detect_keys: true
tables:
  observations:
    input: {drop: [password, "$.a[0]"], hash: [email, "$[*].x"], mask: ["$..secret"]}
`))
	if err != nil {
		f.Fatal(err)
	}
	ruled, err := New(pol, func(string) string { return "0123456789abcdef0123" })
	if err != nil {
		f.Fatal(err)
	}
	input := ruled.plans["observations"][0]
	for _, p := range ruled.plans["observations"] {
		if p.col == "input" {
			input = p
		}
	}
	doc := func(s string) string {
		w := &rewriter{r: ruled, f: input}
		out, _ := w.rewrite(s)
		return out
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := plain.String(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q: invalid UTF-8", s, out)
		}
		if again := plain.String(out); again != out {
			t.Fatalf("String not idempotent: %q → %q → %q", s, out, again)
		}
		js, _ := json.Marshal(s)
		docs := []string{string(js), `{"k":` + string(js) + `,` + string(js) + `:[` + string(js) + `]}`}
		if json.Valid([]byte(s)) {
			docs = append(docs, s)
		}
		for _, d := range docs {
			for name, fn := range map[string]func(string) string{"detectors": plain.JSON, "rules": doc} {
				out := fn(d)
				if !json.Valid([]byte(out)) {
					t.Fatalf("%s: %q → %q: invalid JSON", name, d, out)
				}
				if utf8.ValidString(d) && !utf8.ValidString(out) {
					t.Fatalf("%s: %q → %q: invalid UTF-8", name, d, out)
				}
				if again := fn(out); again != out {
					t.Fatalf("%s not idempotent: %q → %q → %q", name, d, out, again)
				}
			}
		}
		// The JSON string's content is redacted like the plain text, up
		// to escapes (an escape is a boundary in JSON).
		if !strings.ContainsAny(s, "\\\"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f<>&\u2028\u2029") && utf8.ValidString(s) {
			var got string
			if err := json.Unmarshal([]byte(plain.JSON(string(js))), &got); err != nil || got != out {
				t.Fatalf("JSON string %q: %q, plain %q", s, got, out)
			}
		}
	})
}
