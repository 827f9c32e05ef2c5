package bucket_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/bucket/buckettest"
	"github.com/lakefuse/lakefuse/internal/azuritetest"
	"github.com/lakefuse/lakefuse/internal/miniotest"
)

// One MinIO and one Azurite for the whole package, each started on first use.
func TestMain(m *testing.M) {
	os.Exit(azuritetest.MainFunc(func() int { return miniotest.Main(m) }))
}

func TestMemory(t *testing.T) {
	buckettest.Run(t, func(t *testing.T) bucket.Bucket { return bucket.NewMemory() })
}

func TestMemoryLocation(t *testing.T) {
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		b, err := bucket.Open(context.Background(), "mem://test", bucket.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestLocal(t *testing.T) {
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		// The root does not exist yet: the first write creates it.
		b, err := bucket.NewLocal(filepath.Join(t.TempDir(), "not", "yet", "lake"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestLocalLocations(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	for _, loc := range []string{"rel/lake", "./rel/lake", filepath.Join(dir, "rel", "lake"), "file://" + filepath.Join(dir, "rel", "lake")} {
		b, err := bucket.Open(ctx, loc, bucket.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", loc, err)
		}
		buckettest.Put(t, b, "k", []byte(loc))
		if got := string(buckettest.Get(t, b, "k")); got != loc {
			t.Errorf("Open(%q): read %q", loc, got)
		}
		if want := filepath.Join(dir, "rel", "lake"); b.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", loc, b.String(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "rel", "lake", "k")); err != nil {
		t.Errorf("object is not a plain file below the root: %v", err)
	}
}

func TestLocalRootIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bucket.Open(context.Background(), f, bucket.Options{})
	if !errors.Is(err, bucket.ErrBadLocation) || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open(file) = %v, want ErrBadLocation naming %s", err, f)
	}
}

// TestLocalTree checks what lands on disk: no temporary files after commits
// and aborts, and no empty directories after deletes.
func TestLocalTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	buckettest.Put(t, b, "t/p=1/dt=2026-01-01/a", []byte("a"))
	buckettest.Put(t, b, "t/p=1/b", []byte("b"))
	w, err := b.NewWriter(ctx, "t/p=2/c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, root); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, ".lakefuse-tmp-") }) {
		t.Errorf("no temporary file while writing: %q", got)
	}
	if keys := buckettest.Keys(t, b, ""); len(keys) != 2 {
		t.Errorf("List shows the temporary file: %q", keys)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	want := []string{"t/", "t/p=1/", "t/p=1/b", "t/p=1/dt=2026-01-01/", "t/p=1/dt=2026-01-01/a"}
	if got := tree(t, root); !slices.Equal(got, want) {
		t.Errorf("after abort the tree is\n%q\nwant\n%q", got, want)
	}
	if err := b.Delete(ctx, "t/p=1/dt=2026-01-01/a"); err != nil {
		t.Fatal(err)
	}
	if got, want := tree(t, root), []string{"t/", "t/p=1/", "t/p=1/b"}; !slices.Equal(got, want) {
		t.Errorf("after delete the tree is\n%q\nwant\n%q", got, want)
	}
	if err := b.Delete(ctx, "t/p=1/b"); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, root); len(got) != 0 {
		t.Errorf("after deleting everything the tree is %q", got)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("the root itself must stay: %v", err)
	}
	fi, err := os.Stat(filepath.Join(root))
	if err != nil || !fi.IsDir() {
		t.Fatal(err)
	}
}

func tree(t *testing.T, root string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestLocalFileInTheWay(t *testing.T) {
	b, err := bucket.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buckettest.Put(t, b, "a", []byte("x"))
	_, err = b.NewWriter(context.Background(), "a/b")
	if err == nil || !strings.Contains(err.Error(), "in the way") {
		t.Errorf("writing below a file: %v, want a clear error", err)
	}
}

func TestLocalPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	root := t.TempDir()
	b, err := bucket.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(root, 0o700) })
	if _, err := b.NewWriter(context.Background(), "k"); !errors.Is(err, bucket.ErrPermission) {
		t.Errorf("NewWriter in a read-only directory = %v, want ErrPermission", err)
	}
}

// TestLocalWriteWhileDeleting races writers against deletes that prune the
// directories the writers need.
func TestLocalWriteWhileDeleting(t *testing.T) {
	b, err := bucket.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("p=%d/dt=x/k%d", i%2, g)
				w, err := b.NewWriter(ctx, key)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := w.Write([]byte("x")); err != nil {
					t.Error(err)
				}
				if err := w.Commit(); err != nil {
					t.Error(err)
					return
				}
				if err := b.Delete(ctx, key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if keys := buckettest.Keys(t, b, ""); len(keys) != 0 {
		t.Errorf("left %q", keys)
	}
}
