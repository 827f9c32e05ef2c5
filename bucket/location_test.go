package bucket

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want location
	}{
		{"lake", location{scheme: "file", path: "lake"}},
		{"./a/b", location{scheme: "file", path: "./a/b"}},
		{"/abs/lake", location{scheme: "file", path: "/abs/lake"}},
		{"dir:with:colons", location{scheme: "file", path: "dir:with:colons"}},
		{"file:///abs/lake", location{scheme: "file", path: "/abs/lake"}},
		{"file://localhost/abs/lake", location{scheme: "file", path: "/abs/lake"}},
		{"file:///my%20lake", location{scheme: "file", path: "/my lake"}},
		{"FILE:///x", location{scheme: "file", path: "/x"}},
		{"s3://bucket", location{scheme: "s3", bucket: "bucket"}},
		{"s3://bucket/", location{scheme: "s3", bucket: "bucket"}},
		{"s3://my.bucket-1/a/b/", location{scheme: "s3", bucket: "my.bucket-1", prefix: "a/b"}},
		{"s3://b12/project_id=a%2Fb", location{scheme: "s3", bucket: "b12", prefix: "project_id=a%2Fb"}},
		{"gs://my_bucket/lake", location{scheme: "gs", bucket: "my_bucket", prefix: "lake"}},
		{"mem://", location{scheme: "mem"}},
		{"mem://name", location{scheme: "mem", bucket: "name"}},
	} {
		got, err := parseLocation(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseLocation(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseLocationErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // every problem must be reported
	}{
		{"", []string{"empty"}},
		{"  ", []string{"empty"}},
		{"http://x/y", []string{`unknown scheme "http"`}},
		{"s4://x/y", []string{`unknown scheme "s4"`}},
		{"s3://", []string{"missing bucket name"}},
		{"s3:///prefix", []string{"missing bucket name"}},
		{"gs://", []string{"missing bucket name: write gs://BUCKET"}},
		{"s3://ab", []string{"2 characters"}},
		{"s3://" + strings.Repeat("a", 64), []string{"64 characters"}},
		{"s3://My_Bucket/x", []string{"may only hold lowercase"}},
		{"gs://My_Bucket/x", []string{"may only hold lowercase letters, digits, '.', '-' and '_'"}},
		{"s3://-bucket", []string{"must start and end"}},
		{"s3://a..b", []string{"two dots"}},
		{"s3://bucket:9000/x", []string{`has a port "9000"`}},
		{"s3://bucket/a//b", []string{`prefix "a//b": empty path segment`}},
		{"s3://bucket/a/../b", []string{`"." and ".." segments`}},
		{"s3://bucket/x?region=eu", []string{`"?" is not allowed`}},
		{"s3://bucket/x#frag", []string{`"#" is not allowed`}},
		{"s3://AKIA:topsecret@bucket/x", []string{"credentials do not belong"}},
		{"file://host/x", []string{"no host"}},
		{"file:///", []string{"missing directory"}},
		{"file:///a%zz", []string{"bad %-escape"}},
		{"bad\x00path", []string{"NUL"}},
		// Several problems at once.
		{"s3://Bad_Name..x:99/a//b?q", []string{"port", "lowercase", "two dots", "empty path segment", `"?"`}},
	} {
		_, err := parseLocation(tc.in)
		if !errors.Is(err, ErrBadLocation) {
			t.Errorf("parseLocation(%q) = %v, want ErrBadLocation", tc.in, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("parseLocation(%q) = %q, want it to mention %q", tc.in, err, w)
			}
		}
	}
}

func TestParseLocationHidesSecrets(t *testing.T) {
	for _, in := range []string{
		"s3://AKIA:topsecret@bucket/x",
		"s3://topsecret@bucket/x",
		"gs://b:topsecret@/x",
		"s3://bucket/x?secret=topsecret",
		"s3://bucket/x#topsecret",
		"http://user:topsecret@host/",
	} {
		_, err := parseLocation(in)
		if err == nil {
			t.Errorf("parseLocation(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("parseLocation(%q) error shows the secret: %v", in, err)
		}
	}
}

func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"lake", "file:///x", "s3://b12/a/b", "gs://b_1/x", "mem://m", "s3://u:p@b/x?y#z", "s3://", "file://h/x%2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := parseLocation(in)
		if err != nil {
			if !errors.Is(err, ErrBadLocation) {
				t.Fatalf("error %v is not ErrBadLocation", err)
			}
			// User info must not be echoed: it may hold a secret.
			if _, rest, ok := strings.Cut(in, "://"); ok {
				authority := rest
				if i := strings.IndexAny(rest, "/?#"); i >= 0 {
					authority = rest[:i]
				}
				if at := strings.LastIndex(authority, "@"); at >= 0 {
					info := authority[:at]
					if len(info) >= 8 && strings.Count(in, info) == 1 && strings.Contains(err.Error(), info) {
						t.Fatalf("error %q shows the user info %q", err, info)
					}
				}
			}
			return
		}
		// What parses prints as a location that parses the same.
		if l.scheme != "file" {
			again, err := parseLocation(l.String())
			if err != nil || again != l {
				t.Fatalf("%q parsed as %+v, printed %q, parsed again as %+v, %v", in, l, l.String(), again, err)
			}
		}
		if (l.scheme == "s3" || l.scheme == "gs") && l.prefix != "" && checkPath(l.prefix) != nil {
			t.Fatalf("accepted prefix %q is not a valid key path", l.prefix)
		}
	})
}
