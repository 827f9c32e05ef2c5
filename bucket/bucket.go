package bucket

import (
	"context"
	"errors"
	"io"
	"time"
)

// Bucket is where the lake's bytes live. Keys are slash-separated, relative to
// the bucket's root (the location's prefix), never start with "/", and never
// contain "." or ".." segments.
//
// Implementations only talk to their store; Open wraps them with validation and
// retries so callers see one behaviour.
type Bucket interface {
	// NewWriter starts an atomic write of key. Nothing is visible under key
	// until Commit returns nil; Abort (or a failed Commit) leaves nothing behind.
	NewWriter(ctx context.Context, key string) (Writer, error)
	// Open returns a ranged reader of key. ErrNotFound when it does not exist.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes key. ErrNotFound when it does not exist.
	Stat(ctx context.Context, key string) (Attrs, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order. A non-nil error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(Attrs) error) error
	// Delete removes key. Deleting a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
	// Create stores data under key only if no object has that key: of
	// several concurrent Creates of one key exactly one succeeds, the others
	// fail with ErrExists. It is meant for small objects (a lease): data is
	// held in memory. On S3 and MinIO it is a PUT with If-None-Match: *; on
	// disk a hard link, which fails when the name exists.
	Create(ctx context.Context, key string, data []byte) error
	// Move renames src to dst, replacing dst. Locally it is a rename (not
	// synced: after a power cut the object may be back under src); on S3 a
	// server-side copy then a delete, so for a moment both exist. It fails
	// with ErrNotFound when src does not exist.
	Move(ctx context.Context, src, dst string) error
	// String is the location, safe to print: it never holds a secret.
	String() string
	Close() error
}

// Writer is an atomic object write in progress.
type Writer interface {
	io.Writer
	// Commit makes the object visible, whole. After Commit the writer is done.
	Commit() error
	// Abort discards everything written. Safe to call after Commit (no-op).
	Abort() error
}

// Object is an open object that can be read at any offset, for example a
// Parquet footer on S3 through ranged GETs.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Attrs describes a stored object.
type Attrs struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Error kinds. Callers test with errors.Is, never by message.
var (
	ErrNotFound       = errors.New("not found")
	ErrPermission     = errors.New("permission denied")
	ErrNoBucket       = errors.New("bucket does not exist")
	ErrBadCredentials = errors.New("credentials rejected")
	ErrInvalidKey     = errors.New("invalid key")
	ErrBadLocation    = errors.New("invalid location")
	// ErrExists: Create found the key taken.
	ErrExists = errors.New("object already exists")
)
