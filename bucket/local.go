package bucket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// NewLocal returns a bucket whose objects are files below dir. The directory
// need not exist yet: it is created on the first write.
func NewLocal(dir string) (Bucket, error) {
	b, err := newLocal(dir)
	if err != nil {
		return nil, err
	}
	return portable(b, Options{}), nil
}

type localBucket struct {
	root string // absolute, cleaned
}

var _ Bucket = (*localBucket)(nil)

func newLocal(dir string) (*localBucket, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrBadLocation)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadLocation, dir, err)
	}
	fi, err := os.Stat(root)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("%w %q: it is a file, not a directory", ErrBadLocation, root)
	case errors.Is(err, syscall.ENOTDIR):
		// A parent is a file: say which, rather than "not found".
		if file := fileAncestor(root); file != "" {
			return nil, fmt.Errorf("%w %q: %s is a file, not a directory", ErrBadLocation, root, file)
		}
		return nil, fmt.Errorf("lake directory %s: %w", root, mapOSError(err))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("lake directory %s: %w", root, mapOSError(err))
	}
	return &localBucket{root: root}, nil
}

// fileAncestor returns the nearest parent of path that exists and is not a
// directory, or "".
func fileAncestor(path string) string {
	for p := filepath.Dir(path); p != filepath.Dir(p); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			if fi.IsDir() {
				return ""
			}
			return p
		}
	}
	return ""
}

func (b *localBucket) String() string { return b.root }
func (b *localBucket) Close() error   { return nil }

func (b *localBucket) path(key string) string {
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// mapOSError gives an os error the kind callers branch on, keeping the
// path it names.
func mapOSError(err error) error {
	var kind error
	var what string
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		kind, what = ErrNotFound, "not found"
	case errors.Is(err, fs.ErrPermission):
		kind, what = ErrPermission, "permission denied"
	default:
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &kindError{kind: kind, err: err, msg: pe.Path + ": " + what}
	}
	return &kindError{kind: kind, err: err, msg: err.Error()}
}

// A local lake is private: traces hold prompts and answers full of personal
// data. Directories the bucket creates are 0700 and files 0600 (umask can
// only narrow these); directories that already exist keep their mode.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// inDir makes dir (dirMode) and runs op, which creates a name in it. A
// concurrent Delete may remove dir between the two while it prunes empty
// directories: op then reports retry (its error is "not found") and both
// run again. MkdirAll itself says "file exists" when another writer made a
// directory that a prune removed before MkdirAll could see it: that is
// tried again too (a file really in the way still fails every try). It
// returns the last error.
func inDir(dir string, op func() (retry bool, err error)) error {
	var err error
	for range 10 {
		if err = os.MkdirAll(dir, dirMode); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		var retry bool
		if retry, err = op(); !retry {
			return err
		}
	}
	return err
}

func (b *localBucket) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dst := b.path(key)
	dir := filepath.Dir(dst)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	var f *os.File
	err := inDir(dir, func() (bool, error) {
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		return errors.Is(err, fs.ErrNotExist), err
	})
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("write %s: a file is in the way of directory %s: %w", dst, dir, err)
		}
		return nil, fmt.Errorf("write %s: %w", dst, mapOSError(err))
	}
	return &localWriter{b: b, ctx: ctx, f: f, dst: dst}, nil
}

type localWriter struct {
	b    *localBucket
	ctx  context.Context
	f    *os.File
	dst  string
	done bool
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errWriterDone
	}
	return w.f.Write(p)
}

func (w *localWriter) Commit() error {
	if w.done {
		return errWriterDone
	}
	err := w.ctx.Err()
	if err == nil {
		err = w.place(os.Rename)
	}
	if err != nil {
		w.discard()
		return fmt.Errorf("write %s: %w", w.dst, mapOSError(err))
	}
	return nil
}

// place syncs and closes the temporary file and gives it its name with
// name(tmp, dst): a rename (Commit) or a hard link (Create). The new name
// is the commit point: place makes it durable too. Not every file system
// can sync a directory, and the data itself is already synced.
func (w *localWriter) place(name func(tmp, dst string) error) error {
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = name(w.f.Name(), w.dst)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(w.dst)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// discard closes and removes the temporary file and prunes its directory
// when that leaves it empty. It returns what removing the file said.
func (w *localWriter) discard() error {
	w.done = true
	_ = w.f.Close()
	err := os.Remove(w.f.Name())
	w.b.prune(filepath.Dir(w.f.Name()))
	return err
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	if err := w.discard(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort write %s: %w", w.dst, err)
	}
	return nil
}

func (b *localBucket) Open(ctx context.Context, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(b.path(key))
	if err != nil {
		return nil, mapOSError(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: f.Name(), Err: fs.ErrNotExist}
	}
	if err != nil {
		_ = f.Close()
		return nil, mapOSError(err)
	}
	return &localObject{File: f, size: fi.Size()}, nil
}

type localObject struct {
	*os.File
	size int64
}

func (o *localObject) Size() int64 { return o.size }

func (b *localBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	if err := ctx.Err(); err != nil {
		return Attrs{}, err
	}
	fi, err := os.Stat(b.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "stat", Path: b.path(key), Err: fs.ErrNotExist}
	}
	if err != nil {
		return Attrs{}, mapOSError(err)
	}
	return Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (b *localBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	dirKey, namePrefix := "", prefix
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dirKey, namePrefix = prefix[:i+1], prefix[i+1:]
	}
	return b.walk(ctx, dirKey, namePrefix, fn)
}

// walk lists the directory of dirKey ("" or ending in "/") in key order:
// a directory sorts as its name plus "/", so "a-b" comes before "a/x" as it
// does in an S3 listing.
func (b *localBucket) walk(ctx context.Context, dirKey, namePrefix string, fn func(Attrs) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(b.path(dirKey))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", b.path(dirKey), mapOSError(err))
	}
	type entry struct {
		sortKey string
		name    string
		isDir   bool
	}
	var list []entry
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			// Follow links to files only: a linked directory could loop.
			fi, err := os.Stat(filepath.Join(b.path(dirKey), name))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !isDir && !e.Type().IsRegular() {
			continue
		}
		sk := name
		if isDir {
			sk += "/"
		}
		list = append(list, entry{sk, name, isDir})
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.sortKey, b.sortKey) })
	for _, e := range list {
		key := dirKey + e.name
		if e.isDir {
			if err := b.walk(ctx, key+"/", "", fn); err != nil {
				return err
			}
			continue
		}
		fi, err := os.Stat(b.path(key))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", b.path(key), mapOSError(err))
		}
		if err := fn(Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

func (b *localBucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := b.path(key)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", p, mapOSError(err))
	}
	b.prune(filepath.Dir(p))
	return nil
}

// prune removes dir and its parents up to the root while they are empty, so
// deleting a lake's files leaves no empty partition directories behind.
func (b *localBucket) prune(dir string) {
	for dir != b.root && strings.HasPrefix(dir, b.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Create writes data to a temporary file and hard-links it to the key's
// name: link(2) fails when the name exists, so of several creators exactly
// one wins, and the object is whole when it appears.
func (b *localBucket) Create(ctx context.Context, key string, data []byte) error {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	lw := w.(*localWriter)
	// The temporary file goes in every case: after a link the object has
	// its own name.
	defer func() { _ = lw.discard() }()
	_, err = lw.f.Write(data)
	if err == nil {
		err = lw.place(os.Link)
	}
	if errors.Is(err, fs.ErrExist) {
		return &kindError{kind: ErrExists, err: err, msg: lw.dst + ": already exists"}
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", lw.dst, mapOSError(err))
	}
	return nil
}

// Move renames src to dst, creating dst's directory, and prunes src's
// directory when that leaves it empty.
func (b *localBucket) Move(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	from, to := b.path(src), b.path(dst)
	fi, err := os.Lstat(from)
	if err == nil && fi.IsDir() {
		err = &fs.PathError{Op: "move", Path: from, Err: fs.ErrNotExist}
	}
	if err != nil {
		return mapOSError(err)
	}
	err = inDir(filepath.Dir(to), func() (bool, error) {
		err := os.Rename(from, to)
		if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		_, serr := os.Lstat(from)
		return serr == nil, err // src itself gone: no use trying again
	})
	if err != nil {
		return fmt.Errorf("move %s to %s: %w", from, to, mapOSError(err))
	}
	// The directories are not synced: a rename lost to a power cut leaves
	// the object under src, whole, and package hive moves only what its
	// manifests already name, so it moves it again. Syncing cost 6 ms a file.
	b.prune(filepath.Dir(from))
	return nil
}
