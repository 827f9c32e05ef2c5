package main

import "testing"

var canonicalCases = []string{
	`{"b":1,"a":[1,2.50,{"z":null,"y":true}],"c":"x"}`,
	` {"a" : 1e3 , "b":-0.0000001} `,
	`[]`, `{}`, `[{}]`, `{"a":{}}`,
	`{"a":"<tag>"}`, `{"a":"\u00e9"}`, `{"é":1}`, `{"a":1,"a":2}`,
	`{"a":1e400}`, `{"a":"tab\there"}`, `[1,2`, `{"a":}`, `[1e21,123456789012345678901234]`,
	`{"messages":[{"role":"user","content":"hi"}],"n":0.1}`,
}

// TestCanonicalMatchesJSON checks the fast canonical form against what
// json.Unmarshal and json.Marshal make of the same text.
func TestCanonicalMatchesJSON(t *testing.T) {
	for _, s := range canonicalCases {
		want := s
		if s[0] == '{' || s[0] == '[' {
			want = slowCanonical(s)
		}
		if got := canonical(s); got != want {
			t.Errorf("canonical(%s) = %s, want %s", s, got, want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range canonicalCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || (s[0] != '{' && s[0] != '[') {
			return
		}
		if got, want := canonical(s), slowCanonical(s); got != want {
			t.Errorf("canonical(%q) = %q, want %q", s, got, want)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	s := `{"messages":[{"role":"user","content":"hello world, a question of some length about the weather in Paris"}],"temperature":0.7,"n":1}`
	for b.Loop() {
		canonical(s)
	}
}
