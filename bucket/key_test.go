package bucket

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	for _, key := range []string{
		"a", "a/b/c", "traces/project_id=a%2Fb/dt=2026-03-01/part-0.parquet",
		"with space", "ünï/日本/🦆", "..a", "a..", ".hidden", "a/.lakefuse-tmp", "x=1&y=2+3",
		strings.Repeat("k", 1024),
	} {
		if err := ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for key, want := range map[string]string{
		"":                        "empty key",
		"/a":                      `starts with "/"`,
		"a//b":                    "empty path segment",
		"a/":                      "empty path segment",
		"./a":                     `"." and ".."`,
		"a/../b":                  `"." and ".."`,
		"a\x00":                   "NUL",
		`a\b`:                     "backslash",
		"a\tb":                    "control character U+0009",
		"a\xff":                   "UTF-8",
		"d/.lakefuse-tmp-123":     "reserved",
		strings.Repeat("k", 1025): "more than 1024",
	} {
		err := ValidateKey(key)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateKey(%.50q) = %v, want ErrInvalidKey mentioning %q", key, err, want)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "a/b=", "a/.", "a/..", "a/.lakefuse-tmp-"} {
		if err := validatePrefix(p); err != nil {
			t.Errorf("validatePrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "a//", "../a", "a/./", "a\\b", "a\x00"} {
		if err := validatePrefix(p); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validatePrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a/b", "a//b", "../x", "t/p=a%2Fb/x", "ü/🦆", "a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		// A valid key stays below the root on every store, and can be listed
		// by any of its prefixes.
		if strings.HasPrefix(key, "/") || strings.Contains(key, "//") || strings.HasSuffix(key, "/") {
			t.Fatalf("accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "." || seg == ".." || strings.ContainsAny(seg, "\x00\\") {
				t.Fatalf("accepted %q", key)
			}
		}
		for i, c := range key {
			if c != '/' {
				continue
			}
			if err := validatePrefix(key[:i+1]); err != nil {
				t.Fatalf("prefix %q of valid key %q rejected: %v", key[:i+1], key, err)
			}
		}
		if err := validatePrefix(key); err != nil {
			t.Fatalf("valid key %q rejected as a prefix: %v", key, err)
		}
	})
}
