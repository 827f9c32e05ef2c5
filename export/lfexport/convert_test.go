package lfexport

import (
	"encoding/json"
	"testing"
)

func TestUnquote(t *testing.T) {
	for _, raw := range []string{
		`""`, `"plain"`, `"{\"a\":[1,\"b\"]}"`, `"日本語 ✨ \u00e9\ud83d\ude00"`, `"tab\tnl\nbs\\sl\/\b\f\r"`,
		`"\u0000\u001f"`, `"\ufffd"`,
	} {
		got, ok := unquote([]byte(raw))
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if !ok || string(got) != want {
			t.Errorf("unquote(%s) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{`"a`, `a"`, `"a"b"`, "\"\x80\"", `"\ud800"`, `"\ud800\u0041"`, `"\x"`, `"\u12"`, "\"a\nb\""} {
		if got, ok := unquote([]byte(raw)); ok {
			t.Errorf("unquote(%s) = %q, want the slow path", raw, got)
		}
	}
}

// FuzzUnquote checks that the fast unquote agrees with encoding/json
// whenever it answers.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"{\"a\":\"\\u00e9\"}"`, `"\ud83d\ude00x"`, `"\ud83dx"`, "\"\xff\"", `"\/\b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := unquote([]byte(raw))
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("unquote(%q) = %q, encoding/json refuses it: %v", raw, got, err)
		}
		if string(got) != want {
			t.Fatalf("unquote(%q) = %q, encoding/json %q", raw, got, want)
		}
	})
}
