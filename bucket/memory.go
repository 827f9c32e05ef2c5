package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// NewMemory returns an empty bucket that lives in memory, for tests.
func NewMemory() Bucket {
	return portable(newMemory("mem://memory"), Options{})
}

type memBucket struct {
	name string
	mu   sync.Mutex
	objs map[string]memObject
}

// memObject is immutable once stored: an overwrite stores a new one, so open
// readers keep reading the version they opened.
type memObject struct {
	data []byte
	mod  time.Time
}

func newMemory(name string) *memBucket {
	return &memBucket{name: name, objs: map[string]memObject{}}
}

var _ Bucket = (*memBucket)(nil)

func (b *memBucket) String() string { return b.name }
func (b *memBucket) Close() error   { return nil }

func (b *memBucket) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &memWriter{b: b, ctx: ctx, key: key}, nil
}

func (b *memBucket) get(key string) (memObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[key]
	if !ok {
		return memObject{}, fmt.Errorf("%s/%s: %w", b.name, key, ErrNotFound)
	}
	return o, nil
}

func (b *memBucket) Open(ctx context.Context, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := b.get(key)
	if err != nil {
		return nil, err
	}
	return memReader{bytes.NewReader(o.data)}, nil
}

func (b *memBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	if err := ctx.Err(); err != nil {
		return Attrs{}, err
	}
	o, err := b.get(key)
	if err != nil {
		return Attrs{}, err
	}
	return Attrs{Key: key, Size: int64(len(o.data)), ModTime: o.mod}, nil
}

func (b *memBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	// Snapshot first: fn may call back into the bucket.
	b.mu.Lock()
	var found []Attrs
	for k, o := range b.objs {
		if strings.HasPrefix(k, prefix) {
			found = append(found, Attrs{Key: k, Size: int64(len(o.data)), ModTime: o.mod})
		}
	}
	b.mu.Unlock()
	slices.SortFunc(found, func(a, b Attrs) int { return strings.Compare(a.Key, b.Key) })
	for _, a := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (b *memBucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objs, key)
	return nil
}

func (b *memBucket) Create(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objs[key]; ok {
		return fmt.Errorf("%s/%s: %w", b.name, key, ErrExists)
	}
	b.objs[key] = memObject{data: bytes.Clone(data), mod: time.Now()}
	return nil
}

func (b *memBucket) Move(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[src]
	if !ok {
		return fmt.Errorf("%s/%s: %w", b.name, src, ErrNotFound)
	}
	if src != dst {
		b.objs[dst] = o
		delete(b.objs, src)
	}
	return nil
}

type memWriter struct {
	b    *memBucket
	ctx  context.Context
	key  string
	buf  bytes.Buffer
	done bool
}

var errWriterDone = errors.New("writer already committed or aborted")

// writable is what a remote store's writer checks before it takes more
// bytes: it has not ended, and its context is still live.
func writable(ended bool, ctx context.Context, name string) error {
	if ended {
		return errWriterDone
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// ignoreNotFound is err, except that deleting what is not there succeeds.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (w *memWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errWriterDone
	}
	return w.buf.Write(p)
}

func (w *memWriter) Commit() error {
	if w.done {
		return errWriterDone
	}
	w.done = true
	if err := w.ctx.Err(); err != nil {
		return err
	}
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	w.b.objs[w.key] = memObject{data: w.buf.Bytes(), mod: time.Now()}
	return nil
}

func (w *memWriter) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }
