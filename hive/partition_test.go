package hive

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeMatchesHive(t *testing.T) {
	// Expected values follow Hive's FileUtils.escapePathName.
	cases := map[string]string{
		"abc":         "abc",
		"a/b":         "a%2Fb",
		"../x":        "..%2Fx",
		"..":          "..",
		"a=b":         "a%3Db",
		"50%":         "50%25",
		"with space":  "with space",
		"日本語🎉":        "日本語🎉",
		"a:b*c?d":     "a%3Ab%2Ac%3Fd",
		`q"'#\{[]^`:   "q%22%27%23%5C%7B%5B%5D%5E",
		"tab\tnl\n":   "tab%09nl%0A",
		"":            DefaultPartition,
		"\x00\x7f":    "%00%7F",
		"bad\xffutf8": "bad%FFutf8",
	}
	for in, want := range cases {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if got := Unescape(Escape(in)); got != in {
			t.Errorf("Unescape(Escape(%q)) = %q", in, got)
		}
	}
	// Hive leaves malformed escapes alone.
	if got := Unescape("100%zz%4"); got != "100%zz%4" {
		t.Errorf("Unescape malformed = %q", got)
	}
	if got := Unescape("a%2fb"); got != "a/b" {
		t.Errorf("lower-case hex: %q", got)
	}
}

func TestParsePath(t *testing.T) {
	p := Partition{ProjectID: "../a/b=c", Date: "2026-03-01"}
	key := p.Dir("observations") + "/part-x.parquet"
	if strings.Count(key, "/") != 3 {
		t.Fatalf("escaped path has extra segments: %s", key)
	}
	table, got, file, err := ParsePath(key)
	if err != nil || table != "observations" || got != p || file != "part-x.parquet" {
		t.Fatalf("ParsePath(%q) = %q %+v %q %v", key, table, got, file, err)
	}
	snap := Partition{ProjectID: "p"}
	if _, got, _, err := ParsePath(snap.Dir("prompts") + "/f.parquet"); err != nil || got != snap {
		t.Fatalf("snapshot: %+v %v", got, err)
	}
	for _, bad := range []string{"t/f.parquet", "t/dt=2026-01-01/f", "t/project_id=a/dt=nope/f", "t/project_id=a/x=1/f", "a/b/c/d/e"} {
		if _, _, _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q): no error", bad)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a/b", "../x", "%", "%2F", "=", "日本", "\xff", DefaultPartition + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if strings.ContainsAny(e, "/=\x00\\") || !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not a safe segment", s, e)
		}
		if s != DefaultPartition && Unescape(e) != s {
			t.Fatalf("round trip %q -> %q -> %q", s, e, Unescape(e))
		}
		k, v, err := ParseSegment(Segment("project_id", s))
		if err != nil || k != "project_id" || (s != DefaultPartition && v != s) {
			t.Fatalf("ParseSegment: %q %q %v", k, v, err)
		}
	})
}
