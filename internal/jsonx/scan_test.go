package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{``, ` `, `0`, `-0`, `01`, `-`, `1.`, `1.5e`, `1.5e+3`, `1E-2`, `-12.30e4`, `.5`, `+1`, `"a"`, `"\u00e9\n"`,
	`"\u00g0"`, `"\x"`, "\"\x01\"", "\"\xff\"", `"unterminated`, `"\`, `"\u12`, `true`, `tru`, `truex`, `false`, `null`, `nul`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[]`, `[1,2]`, `[1,]`, `[,]`, `[1 2]`, ` [ {"x" : [true , null] } ] `,
	`{"a":{"b":[1,{"c":"d"}]}}`, `[`, `{`, `{"a"`, `{"a":`, `1 2`, "\t{\r\n}\n", `[1]]`, `{}}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001)}

func TestValid(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid(c), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, `"x`, `[1,]`, `-0.5e+10`, `01`, ` true `, `{"a":1}x`, "\"\x01\"", `"\ud800"`, `1.`, `[`} {
		f.Add(s)
	}
	for _, c := range validCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", s, got, want)
		}
		var obj map[string]json.RawMessage
		isObj := json.Unmarshal([]byte(s), &obj) == nil && obj != nil
		n := 0
		ok := Members(s, func(k, v string) bool {
			n++
			if !Valid(k) || !Valid(v) {
				t.Fatalf("member %s: %s of %q", k, v, s)
			}
			return true
		})
		if ok != isObj {
			t.Fatalf("Members(%q) = %v, is an object: %v", s, ok, isObj)
		}
		var arr []json.RawMessage
		isArr := json.Unmarshal([]byte(s), &arr) == nil && arr != nil
		if ok := Elements(s, func(string) bool { return true }); ok != isArr {
			t.Fatalf("Elements(%q) = %v, is an array: %v", s, ok, isArr)
		}
	})
}

func FuzzSkipUnescaped(f *testing.F) {
	for _, s := range []string{"", "plain ascii text here!", "日本語のテキスト ✨ and more", "abcdefgh\"ijklmnop", "abcdefghijklmn\\op", "abcdefghijk\x1flmnop", "\x7f\x80\xff\xfe\xa0\xa1\xa2\xa3\x20\x21"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		j := SkipUnescaped(s, i)
		if j < i || j > len(s) || (j-i)%8 != 0 {
			t.Fatalf("SkipUnescaped(%q, %d) = %d", s, i, j)
		}
		for k := i; k < j; k++ {
			if c := s[k]; c < 0x20 || c == '"' || c == '\\' {
				t.Fatalf("SkipUnescaped(%q, %d) = %d skips %q at %d", s, i, j, c, k)
			}
		}
		if j+8 <= len(s) {
			found := false
			for _, c := range []byte(s[j : j+8]) {
				found = found || c < 0x20 || c == '"' || c == '\\'
			}
			if !found {
				t.Fatalf("SkipUnescaped(%q, %d) = %d stops at a clean block", s, i, j)
			}
		}
	})
}
