// Package buckettest is the conformance suite every bucket.Bucket passes:
// the memory, local, S3, GCS-through-S3 and GCS stores run the same tests, so they
// behave the same for everything built on them.
package buckettest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// Run runs the suite. newBucket returns an empty bucket for one subtest; it
// may be called many times, also from parallel subtests.
func Run(t *testing.T, newBucket func(t *testing.T) bucket.Bucket) {
	tests := []struct {
		name string
		f    func(t *testing.T, b bucket.Bucket)
	}{
		{"WriteRead", testWriteRead},
		{"Uncommitted", testUncommitted},
		{"Abort", testAbort},
		{"Overwrite", testOverwrite},
		{"ReadAt", testReadAt},
		{"Stat", testStat},
		{"List", testList},
		{"ListStop", testListStop},
		{"ListMany", testListMany},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"KeyCharacters", testKeyCharacters},
		{"Large", testLarge},
		{"ConcurrentWriters", testConcurrentWriters},
		{"NotFound", testNotFound},
		{"EmptyObject", testEmptyObject},
		{"Create", testCreate},
		{"CreateConcurrent", testCreateConcurrent},
		{"Move", testMove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.f(t, b)
		})
	}
}

// Put writes data under key and commits it, failing t on any error.
func Put(t testing.TB, b bucket.Bucket, key string, data []byte) {
	t.Helper()
	w, err := b.NewWriter(context.Background(), key)
	if err != nil {
		t.Fatalf("NewWriter(%q): %v", key, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		t.Fatalf("Write(%q): %v", key, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", key, err)
	}
}

// Get reads the whole object key, failing t on any error.
func Get(t testing.TB, b bucket.Bucket, key string) []byte {
	t.Helper()
	o, err := b.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer o.Close()
	data, err := io.ReadAll(io.NewSectionReader(o, 0, o.Size()))
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

// Keys lists prefix, failing t on any error.
func Keys(t testing.TB, b bucket.Bucket, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := b.List(context.Background(), prefix, func(a bucket.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func wantNotFound(t *testing.T, b bucket.Bucket, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.Stat(ctx, key); !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
	if o, err := b.Open(ctx, key); !errors.Is(err, bucket.ErrNotFound) {
		if err == nil {
			o.Close()
		}
		t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
	}
}

func testWriteRead(t *testing.T, b bucket.Bucket) {
	data := []byte("hello, lake")
	w, err := b.NewWriter(context.Background(), "a/b/c.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Several writes make one object.
	for _, part := range [][]byte{data[:3], data[3:7], data[7:]} {
		if n, err := w.Write(part); err != nil || n != len(part) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := Get(t, b, "a/b/c.txt"); !bytes.Equal(got, data) {
		t.Errorf("read back %q, want %q", got, data)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := Get(t, b, "a/b/c.txt"); !bytes.Equal(got, data) {
		t.Errorf("after Abort following Commit, read back %q, want %q", got, data)
	}
}

func testUncommitted(t *testing.T, b bucket.Bucket) {
	w, err := b.NewWriter(context.Background(), "dir/pending")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("not yet")); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, b, "dir/pending")
	if keys := Keys(t, b, ""); len(keys) != 0 {
		t.Errorf("List shows uncommitted objects: %q", keys)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if keys := Keys(t, b, ""); !slices.Equal(keys, []string{"dir/pending"}) {
		t.Errorf("after Commit List = %q", keys)
	}
}

func testAbort(t *testing.T, b bucket.Bucket) {
	w, err := b.NewWriter(context.Background(), "x/y/aborted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(t, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	wantNotFound(t, b, "x/y/aborted")
	if keys := Keys(t, b, ""); len(keys) != 0 {
		t.Errorf("Abort left %q", keys)
	}
	// Aborting an overwrite keeps the old object.
	Put(t, b, "kept", []byte("old"))
	w, err = b.NewWriter(context.Background(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := Get(t, b, "kept"); string(got) != "old" {
		t.Errorf("aborted overwrite changed the object to %q", got)
	}
}

func testOverwrite(t *testing.T, b bucket.Bucket) {
	Put(t, b, "f", []byte("a long first version"))
	Put(t, b, "f", []byte("short"))
	if got := Get(t, b, "f"); string(got) != "short" {
		t.Errorf("after overwrite read %q, want %q", got, "short")
	}
	a, err := b.Stat(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 5 {
		t.Errorf("Stat size = %d, want 5", a.Size)
	}
}

func testReadAt(t *testing.T, b bucket.Bucket) {
	data := []byte("0123456789abcdefghij")
	Put(t, b, "r", data)
	o, err := b.Open(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(data)) {
		t.Errorf("Size = %d, want %d", o.Size(), len(data))
	}
	for _, tc := range []struct {
		off     int64
		n       int
		want    string
		wantEOF bool
	}{
		{0, 5, "01234", false},
		{10, 10, "abcdefghij", false}, // ends exactly at the end
		{15, 10, "fghij", true},       // crosses the end
		{19, 1, "j", false},
		{20, 1, "", true}, // at the end
		{25, 4, "", true}, // past the end
		{3, 0, "", false},
	} {
		p := make([]byte, tc.n)
		n, err := o.ReadAt(p, tc.off)
		if got := string(p[:n]); got != tc.want {
			t.Errorf("ReadAt(%d bytes at %d) read %q, want %q", tc.n, tc.off, got, tc.want)
		}
		if gotEOF := err == io.EOF; gotEOF != tc.wantEOF || err != nil && err != io.EOF {
			t.Errorf("ReadAt(%d bytes at %d) error = %v, want EOF: %v", tc.n, tc.off, err, tc.wantEOF)
		}
	}
	// The Parquet footer pattern: the last 8 bytes, then the bytes before.
	tail := make([]byte, 8)
	if _, err := o.ReadAt(tail, o.Size()-8); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if string(tail) != "cdefghij" {
		t.Errorf("tail = %q", tail)
	}
}

func testStat(t *testing.T, b bucket.Bucket) {
	before := time.Now().Add(-time.Minute) // clocks of remote stores drift
	Put(t, b, "s/t", randomBytes(t, 1234))
	a, err := b.Stat(context.Background(), "s/t")
	if err != nil {
		t.Fatal(err)
	}
	if a.Key != "s/t" || a.Size != 1234 {
		t.Errorf("Stat = %+v, want key s/t, size 1234", a)
	}
	if a.ModTime.Before(before) || a.ModTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("ModTime %v is not about now", a.ModTime)
	}
	// A "directory" is not an object.
	wantNotFound(t, b, "s")
}

func testList(t *testing.T, b bucket.Bucket) {
	keys := []string{
		"traces/project_id=p1/dt=2026-03-01/part-1.parquet",
		"traces/project_id=p1/dt=2026-03-02/part-1.parquet",
		"traces/project_id=p10/dt=2026-03-01/part-1.parquet",
		"traces/project_id=p2/part-1.parquet",
		"traces-old/x",
		"traces.json",
		"scores/project_id=p1/part-1.parquet",
		"a-b",
		"a/b",
		"a.b",
		"a0",
	}
	for _, k := range keys {
		Put(t, b, k, []byte(k))
	}
	sorted := slices.Sorted(slices.Values(keys))
	if got := Keys(t, b, ""); !slices.Equal(got, sorted) {
		t.Errorf("List(\"\") =\n%q\nwant (lexical order)\n%q", got, sorted)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"traces/", []string{keys[0], keys[1], keys[2], keys[3]}},
		{"traces/project_id=p1", []string{keys[0], keys[1], keys[2]}}, // partial segment
		{"traces/project_id=p1/", []string{keys[0], keys[1]}},
		{"traces", []string{keys[4], keys[5], keys[0], keys[1], keys[2], keys[3]}},
		{"a", []string{"a-b", "a.b", "a/b", "a0"}},
		{"traces/project_id=p1/dt=2026-03-01/part-1.parquet", []string{keys[0]}}, // a whole key
		{"nothing/", []string{}},
		{"traces/project_id=p3", []string{}},
	} {
		if got := Keys(t, b, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) =\n%q\nwant\n%q", tc.prefix, got, tc.want)
		}
	}
	var attrs []bucket.Attrs
	if err := b.List(context.Background(), "a/", func(a bucket.Attrs) error {
		attrs = append(attrs, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 1 || attrs[0].Size != 3 || attrs[0].ModTime.IsZero() {
		t.Errorf("List(\"a/\") attrs = %+v, want one of size 3 with a time", attrs)
	}
}

func testListStop(t *testing.T, b bucket.Bucket) {
	for i := range 5 {
		Put(t, b, fmt.Sprintf("k%d", i), nil)
	}
	stop := errors.New("stop")
	calls := 0
	err := b.List(context.Background(), "", func(bucket.Attrs) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("List returned %v after %d calls, want fn's error after 2", err, calls)
	}
}

func testListMany(t *testing.T, b bucket.Bucket) {
	// More than one S3 listing page (1000 keys).
	const n = 1234
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("many/%02d/k%05d", i%7, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan string)
	for range 16 {
		wg.Go(func() {
			for k := range work {
				w, err := b.NewWriter(context.Background(), k)
				if err == nil {
					_, err = w.Write([]byte{1})
					if err == nil {
						err = w.Commit()
					} else {
						_ = w.Abort()
					}
				}
				if err != nil {
					errs <- fmt.Errorf("write %s: %w", k, err)
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	Put(t, b, "many0", nil) // just past the prefix "many/"
	got := Keys(t, b, "many/")
	if want := slices.Sorted(slices.Values(keys)); !slices.Equal(got, want) {
		t.Errorf("List(\"many/\") returned %d keys, want %d in order", len(got), len(want))
	}
}

func testDelete(t *testing.T, b bucket.Bucket) {
	ctx := context.Background()
	Put(t, b, "d/e/f", []byte("x"))
	Put(t, b, "d/g", []byte("y"))
	if err := b.Delete(ctx, "d/e/f"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, b, "d/e/f")
	if err := b.Delete(ctx, "d/e/f"); err != nil {
		t.Errorf("deleting a deleted key: %v", err)
	}
	if err := b.Delete(ctx, "never/was"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if got := Keys(t, b, ""); !slices.Equal(got, []string{"d/g"}) {
		t.Errorf("after Delete List = %q", got)
	}
	// A key can be written again where a deleted one lived.
	Put(t, b, "d/e/f", []byte("again"))
	if got := Get(t, b, "d/e/f"); string(got) != "again" {
		t.Errorf("rewritten object = %q", got)
	}
}

// InvalidKeys are keys every bucket rejects with ErrInvalidKey.
var InvalidKeys = []string{
	"", "/abs", "a//b", "a/", "./a", "a/./b", "a/..", "../x", ".", "..",
	"nul\x00byte", `back\slash`, "ctl\x01", "bad\xffutf8", strings.Repeat("k", 1025),
}

func testInvalidKeys(t *testing.T, b bucket.Bucket) {
	ctx := context.Background()
	for _, key := range InvalidKeys {
		if _, err := b.NewWriter(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("NewWriter(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.Open(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/a", "a//", "../", "a/../b", "x\x00"} {
		err := b.List(ctx, prefix, func(bucket.Attrs) error { return nil })
		if !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("List(%q) = %v, want ErrInvalidKey", prefix, err)
		}
	}
}

func testKeyCharacters(t *testing.T, b bucket.Bucket) {
	keys := []string{
		"t/project_id=a%2Fb/dt=2026-03-01/part-0.parquet", // Hive-escaped "/"
		"t/project_id=with space/x",
		"t/project_id=ünïcødé-日本/x",
		"t/emoji-🦆/x",
		"t/plus+and&amp;?#/x",
		"t/percent%25/x",
		"t/..dots../...",
		"t/.hidden",
	}
	for _, k := range keys {
		Put(t, b, k, []byte(k))
	}
	for _, k := range keys {
		if got := Get(t, b, k); string(got) != k {
			t.Errorf("Get(%q) = %q", k, got)
		}
		a, err := b.Stat(context.Background(), k)
		if err != nil || a.Key != k {
			t.Errorf("Stat(%q) = %+v, %v", k, a, err)
		}
	}
	if got, want := Keys(t, b, "t/"), slices.Sorted(slices.Values(keys)); !slices.Equal(got, want) {
		t.Errorf("List =\n%q\nwant\n%q", got, want)
	}
	if got := Keys(t, b, "t/project_id=a%2F"); !slices.Equal(got, keys[:1]) {
		t.Errorf("List by escaped prefix = %q", got)
	}
	wantNotFound(t, b, "t/project_id=a/b/dt=2026-03-01/part-0.parquet") // "%2F" is not "/"
}

func testLarge(t *testing.T, b bucket.Bucket) {
	// 20 MiB: several S3 multipart parts, and not a multiple of a part.
	data := randomBytes(t, 20<<20+12345)
	w, err := b.NewWriter(context.Background(), "large/blob")
	if err != nil {
		t.Fatal(err)
	}
	// Write in odd-sized pieces, as an encoder would.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 100_003)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	a, err := b.Stat(context.Background(), "large/blob")
	if err != nil || a.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, %v; want size %d", a, err, len(data))
	}
	if got := Get(t, b, "large/blob"); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	o, err := b.Open(context.Background(), "large/blob")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	p := make([]byte, 1000)
	off := int64(8<<20 - 500) // across a part boundary
	if _, err := o.ReadAt(p, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, data[off:off+1000]) {
		t.Error("ranged read across a part boundary differs")
	}
}

func testConcurrentWriters(t *testing.T, b bucket.Bucket) {
	const n = 8
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 100_000+i) }
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			w, err := b.NewWriter(context.Background(), fmt.Sprintf("c/p=%d/f", i))
			if err != nil {
				errs <- err
				return
			}
			for chunk := range slices.Chunk(payload(i), 4096) {
				if _, err := w.Write(chunk); err != nil {
					_ = w.Abort()
					errs <- err
					return
				}
			}
			errs <- w.Commit()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got := Get(t, b, fmt.Sprintf("c/p=%d/f", i)); !bytes.Equal(got, payload(i)) {
			t.Errorf("writer %d: read back %d bytes that differ", i, len(got))
		}
	}
}

func testNotFound(t *testing.T, b bucket.Bucket) {
	wantNotFound(t, b, "missing")
	wantNotFound(t, b, "missing/deeper/key")
	Put(t, b, "file", []byte("x"))
	wantNotFound(t, b, "file/below") // below an object, not a directory
	_, err := b.Stat(context.Background(), "missing")
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("the error should name the key: %v", err)
	}
}

func testEmptyObject(t *testing.T, b bucket.Bucket) {
	Put(t, b, "empty", nil)
	a, err := b.Stat(context.Background(), "empty")
	if err != nil || a.Size != 0 {
		t.Fatalf("Stat = %+v, %v", a, err)
	}
	o, err := b.Open(context.Background(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if n, err := o.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Errorf("ReadAt on empty = %d, %v; want 0, EOF", n, err)
	}
}

func testCreate(t *testing.T, b bucket.Bucket) {
	ctx := context.Background()
	if err := b.Create(ctx, "lease/0001.json", []byte("first")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	err := b.Create(ctx, "lease/0001.json", []byte("second"))
	if !errors.Is(err, bucket.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	if got := Get(t, b, "lease/0001.json"); string(got) != "first" {
		t.Fatalf("after a refused Create the object holds %q", got)
	}
	// A key taken by an ordinary write is taken too.
	Put(t, b, "lease/0002.json", []byte("put"))
	if err := b.Create(ctx, "lease/0002.json", nil); !errors.Is(err, bucket.ErrExists) {
		t.Fatalf("Create over a written key: %v, want ErrExists", err)
	}
	// Nothing else is left behind, and the created object can be replaced
	// and deleted like any other.
	if keys := Keys(t, b, ""); !slices.Equal(keys, []string{"lease/0001.json", "lease/0002.json"}) {
		t.Fatalf("keys %v", keys)
	}
	Put(t, b, "lease/0001.json", []byte("renewed"))
	if got := Get(t, b, "lease/0001.json"); string(got) != "renewed" {
		t.Fatalf("overwrite of a created object: %q", got)
	}
	if err := b.Delete(ctx, "lease/0001.json"); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, "lease/0001.json", []byte("again")); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	if err := b.Create(ctx, "bad//key", nil); !errors.Is(err, bucket.ErrInvalidKey) {
		t.Fatalf("Create of an invalid key: %v", err)
	}
}

// testCreateConcurrent: of many concurrent Creates of one key exactly one
// succeeds, and the object holds the winner's bytes.
func testCreateConcurrent(t *testing.T, b bucket.Bucket) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Create(ctx, "lock", []byte(fmt.Sprintf("creator %d", i)))
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("creators %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, bucket.ErrExists):
			t.Fatalf("creator %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no creator succeeded")
	}
	if got := string(Get(t, b, "lock")); got != fmt.Sprintf("creator %d", winner) {
		t.Fatalf("object holds %q, winner was %d", got, winner)
	}
}

func testMove(t *testing.T, b bucket.Bucket) {
	ctx := context.Background()
	data := randomBytes(t, 100_000)
	src := "_staging/run/traces/project_id=a%2Fb c+d/dt=2026-03-01/part-1.parquet"
	dst := "traces/project_id=a%2Fb c+d/dt=2026-03-01/part-1.parquet"
	Put(t, b, src, data)
	if err := b.Move(ctx, src, dst); err != nil {
		t.Fatalf("Move: %v", err)
	}
	wantNotFound(t, b, src)
	if got := Get(t, b, dst); !bytes.Equal(got, data) {
		t.Fatalf("moved object differs (%d bytes, want %d)", len(got), len(data))
	}
	if keys := Keys(t, b, ""); !slices.Equal(keys, []string{dst}) {
		t.Fatalf("keys after Move: %v", keys)
	}
	// Move replaces dst.
	Put(t, b, "x/new", []byte("new"))
	if err := b.Move(ctx, "x/new", dst); err != nil {
		t.Fatal(err)
	}
	if got := Get(t, b, dst); string(got) != "new" {
		t.Fatalf("Move over an object: %q", got)
	}
	if err := b.Move(ctx, "x/missing", "x/other"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Move of a missing object: %v, want ErrNotFound", err)
	}
	wantNotFound(t, b, "x/other")
}
