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

// skipString stops exactly at the first quote, backslash or control byte of
// every 8-byte block, whatever else (non-ASCII bytes, 0x7f, 0xff) is there.
func TestSkipString(t *testing.T) {
	alphabet := []byte{'a', ' ', '"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xe3, 0xff, 0x22 | 0x80, 0x5c | 0x80, 0x9f, 0xa0}
	rng := uint64(1)
	for n := range 20000 {
		b := make([]byte, n%40)
		for i := range b {
			rng = rng*6364136223846793005 + 1442695040888963407
			if rng>>60 < 3 {
				b[i] = alphabet[(rng>>33)%uint64(len(alphabet))]
			} else {
				b[i] = byte('a' + (rng>>40)%3)
				if rng>>62 == 3 {
					b[i] = 0x80 | byte(rng>>20)
				}
			}
		}
		s := string(b)
		for from := 0; from <= len(s); from++ {
			want := from
			for want+8 <= len(s) {
				j := want
				for j < want+8 && s[j] != '"' && s[j] != '\\' && s[j] >= 0x20 {
					j++
				}
				if j < want+8 {
					want = j
					break
				}
				want += 8
			}
			if got := skipString(s, from); got != want {
				t.Fatalf("skipString(%q, %d) = %d, want %d", s, from, got, want)
			}
		}
	}
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
		if j < i || j > len(s) {
			t.Fatalf("SkipUnescaped(%q, %d) = %d", s, i, j)
		}
		for k := i; k < j; k++ {
			if c := s[k]; c < 0x20 || c == '"' || c == '\\' {
				t.Fatalf("SkipUnescaped(%q, %d) = %d skips %q at %d", s, i, j, c, k)
			}
		}
		// It stops exactly at a byte to escape, or in the last 7 bytes.
		if j < len(s) && len(s)-j >= 8 {
			if c := s[j]; c >= 0x20 && c != '"' && c != '\\' {
				t.Fatalf("SkipUnescaped(%q, %d) = %d stops at a clean byte %q", s, i, j, c)
			}
		}
	})
}
