package bucket

import (
	"context"
	"log/slog"
)

// portable wraps a driver with what every store shares: key validation, once,
// outside; retries inside.
func portable(driver Bucket, opts Options) *checked {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &checked{b: newRetrying(driver, opts.Retry, log), log: log}
}

// checked rejects invalid keys before a driver sees them, and hides stored
// objects whose names are not valid keys (written by other tools), so that
// every key List yields can be opened.
type checked struct {
	b   *retrying
	log *slog.Logger
}

var _ Bucket = (*checked)(nil)

func (c *checked) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	return c.b.NewWriter(ctx, key)
}

func (c *checked) Open(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	return c.b.Open(ctx, key)
}

func (c *checked) Stat(ctx context.Context, key string) (Attrs, error) {
	if err := ValidateKey(key); err != nil {
		return Attrs{}, err
	}
	return c.b.Stat(ctx, key)
}

func (c *checked) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	return c.b.List(ctx, prefix, func(a Attrs) error {
		if err := ValidateKey(a.Key); err != nil {
			c.log.DebugContext(ctx, "bucket: skipping object with an unusable name", "location", c.b.String(), "err", err)
			return nil
		}
		return fn(a)
	})
}

func (c *checked) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	return c.b.Delete(ctx, key)
}

func (c *checked) Create(ctx context.Context, key string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	return c.b.Create(ctx, key, data)
}

func (c *checked) Move(ctx context.Context, src, dst string) error {
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	return c.b.Move(ctx, src, dst)
}

func (c *checked) String() string { return c.b.String() }
func (c *checked) Close() error   { return c.b.Close() }
