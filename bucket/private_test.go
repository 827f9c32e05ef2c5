package bucket_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
)

// A local lake is private: the directories it creates are 0700 and its
// files 0600, whatever the umask allows, so traces full of personal data are
// not readable by other users of the machine.
func TestLocalPrivateModes(t *testing.T) {
	old := syscall.Umask(0o002) // permissive, as on many desktops
	defer syscall.Umask(old)
	parent := t.TempDir()
	root := filepath.Join(parent, "new", "lake")
	b, err := bucket.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"traces/project_id=p/dt=2026-03-01/part-1.parquet", "_lakefuse/manifests/r.json", "_media/m1"} {
		w, err := b.NewWriter(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err = filepath.WalkDir(filepath.Join(parent, "new"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", strings.TrimPrefix(p, parent), got, want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("walked only %d entries", n)
	}
}
