// Package testbin finds the external programs that test helpers run, such
// as a MinIO server or an Azurite launcher, skipping a test locally when
// one is missing and failing it under CI=true.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// TB is the part of testing.TB that Find uses.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// Spec says where to look for a program and what to say without it.
type Spec struct {
	Pkg     string   // the calling package, prefixing errors: "miniotest"
	Env     string   // a variable naming the program: "LAKEFUSE_MINIO_BIN"
	Name    string   // the program's name on PATH: "minio"
	Cache   []string // a glob under $HOME/.cache/lakefuse: "minio-*", "minio"
	What    string   // what is missing: "minio"
	Install string   // how to install it: "run .ci/install-minio"
}

// Find looks at the spec's variable, then PATH, then the newest regular
// file matching the cache glob. Without any it skips t, or fails it when
// CI=true.
func Find(t TB, s Spec) string {
	t.Helper()
	if p := os.Getenv(s.Env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf(s.Pkg+": "+s.Env+": %v", err)
		}
		return p
	}
	if p, err := exec.LookPath(s.Name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		glob := filepath.Join(append([]string{home, ".cache", "lakefuse"}, s.Cache...)...)
		matches, _ := filepath.Glob(glob)
		var newest string
		var newestTime time.Time
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().After(newestTime) {
				newest, newestTime = m, fi.ModTime()
			}
		}
		if newest != "" {
			return newest
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(s.What + " not found (CI=true, so this fails instead of skipping): " + s.Install + " or set " + s.Env)
		return ""
	}
	t.Skip(s.What + " not found: " + s.Install)
	return ""
}
