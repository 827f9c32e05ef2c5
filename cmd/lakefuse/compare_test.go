package main

import (
	"encoding/json"
	"hash/fnv"
	"strings"
	"testing"
)

var canonicalCases = []string{
	`{"b":1,"a":[1,2.50,{"z":null,"y":true}],"c":"x"}`,
	` {"a" : 1e3 , "b":-0.0000001} `,
	`[]`, `{}`, `[{}]`, `{"a":{}}`,
	`{"a":"<tag>"}`, `{"a":"\u00e9"}`, `{"é":1}`, `{"a":1,"a":2}`,
	`{"a":1e400}`, `{"a":"tab\there"}`, `[1,2`, `{"a":}`, `[1e21,123456789012345678901234]`,
	`{"messages":[{"role":"user","content":"hi"}],"n":0.1}`,
	`{"a\u0062":"line\nbreak \u2028 \ud800 x","b":["\u00e9t\u00e9", "<&>"],"\u00e9":1,"e":2}`,
	`{"a":1,"\u0061":2}`, `["\x"]`, "[\"\xff\"]", `{"z\"q":1,"z":2}`,
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

// BenchmarkCanonicalText: a payload of prose with non-ASCII letters and
// escapes, as the demo's and real chat messages are (appendJSONString).
func BenchmarkCanonicalText(b *testing.B) {
	s := `{"messages":[{"role":"user","content":"` + strings.Repeat(`Grüße aus Köln — “quoted” text,\nline 2 🎉 `, 40) + `"}]}`
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		canonical(s)
	}
}

// TestRowHashPieces checks the allocation-free pieces of hashTable against
// what they replace: hash/fnv's FNV-1a and canonical.
func TestRowHashPieces(t *testing.T) {
	for _, s := range append(canonicalCases, "", "plain text", "{not json") {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		if got := fnvString(fnvOffset, s); got != h.Sum64() {
			t.Errorf("fnvString(%q) = %x, want %x", s, got, h.Sum64())
		}
		if got := fnvBytes(fnvOffset, []byte(s)); got != h.Sum64() {
			t.Errorf("fnvBytes(%q) = %x, want %x", s, got, h.Sum64())
		}
		b, text := appendCanonicalOrText([]byte("junk"), s)
		if got := string(b) + text; got != canonical(s) {
			t.Errorf("appendCanonicalOrText(%q) = %q, want %q", s, got, canonical(s))
		}
	}
}

// FuzzJSONString checks appendJSONString against json.Unmarshal then
// json.Marshal of the same quoted string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"a"`, `"<&>"`, `"\u00e9\n\t\b\f\r\/\\\""`, `"\ud83d\ude00 \ud800 \udc00x \ud800\u0041"`,
		"\"\xff\xfe\"", `"\u2028\u2029 \u0001 \u007f"`, `"\x"`, `"\u12"`, "\"a\x01\"", `"é"`, `"\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var v string
		err := json.Unmarshal([]byte(q), &v)
		got, ok := appendJSONString(nil, q)
		if err != nil {
			if ok {
				t.Errorf("appendJSONString(%q) = %q, json.Unmarshal: %v", q, got, err)
			}
			return
		}
		want, _ := json.Marshal(v)
		if ok && string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %q, want %q", q, got, want)
		}
		if !ok && strings.HasPrefix(q, `"`) && strings.HasSuffix(q, `"`) && len(q) >= 2 && !strings.ContainsAny(q, " \t\r\n") {
			t.Errorf("appendJSONString(%q) refused a valid string", q)
		}
	})
}
