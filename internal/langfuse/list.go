package langfuse

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PageOptions controls a page/limit listing.
type PageOptions struct {
	// Limit is the page size; 0 means the endpoint's maximum.
	Limit int
	// Page is the first page to fetch (1-based; 0 means 1), to resume a listing.
	Page int
	// OnTotal, if set, is called once, before the first page is handed over, with the number of
	// items the server counts for the whole listing (for progress estimates: the count can move
	// while the listing runs).
	OnTotal func(totalItems int)
}

// CursorOptions controls a cursor listing.
type CursorOptions struct {
	// Limit is the page size; 0 means the endpoint's maximum.
	Limit int
	// Cursor resumes a listing after the page that returned it.
	Cursor string
	// OnCursor, if set, is called after each page was handled with the cursor of the next page
	// ("" after the last page): a checkpoint to resume from.
	OnCursor func(next string)
}

// Page size maxima of the endpoints.
const (
	maxLimit             = 100
	maxObservationsLimit = 1000
)

func pageLimit(what string, limit, maxN int) (int, error) {
	switch {
	case limit == 0:
		return maxN, nil
	case limit < 0 || limit > maxN:
		return 0, fmt.Errorf("list %s: limit %d outside 1..%d: %w", what, limit, maxN, ErrBadRequest)
	}
	return limit, nil
}

// listPages walks a page/limit listing, handing each page to fn before asking for the next, so
// at most one page is in memory.
func listPages[T any](ctx context.Context, c *Client, what string, o *op, po PageOptions, maxN int, fn func([]T) error) error {
	limit, err := pageLimit(what, po.Limit, maxN)
	if err != nil {
		return err
	}
	base := o.query
	for page, first := max(po.Page, 1), true; ; page, first = page+1, false {
		o.query = maps.Clone(base)
		if o.query == nil {
			o.query = url.Values{}
		}
		o.query.Set("page", strconv.Itoa(page))
		o.query.Set("limit", strconv.Itoa(limit))
		var resp pageResponse[T]
		if err := c.call(ctx, o, &resp); err != nil {
			return fmt.Errorf("list %s, page %d: %w", what, page, err)
		}
		c.noteDeprecation(ctx, o, resp.Deprecation)
		noteExtra(ctx, c, resp.Data)
		if first && po.OnTotal != nil {
			po.OnTotal(resp.Meta.TotalItems)
		}
		if len(resp.Data) > 0 {
			if err := fn(resp.Data); err != nil {
				return err
			}
		}
		last := len(resp.Data) == 0
		if resp.Meta.TotalPages > 0 {
			last = last || page >= resp.Meta.TotalPages
		} else {
			last = last || len(resp.Data) < limit // a server without meta
		}
		if last {
			return nil
		}
	}
}

// listCursor walks a cursor listing, handing each page to fn before asking for the next.
func listCursor[T any](ctx context.Context, c *Client, what string, o *op, co CursorOptions, maxN int, fn func([]T) error) error {
	limit, err := pageLimit(what, co.Limit, maxN)
	if err != nil {
		return err
	}
	base := o.query
	cursor := co.Cursor
	for page := 1; ; page++ {
		o.query = maps.Clone(base)
		if o.query == nil {
			o.query = url.Values{}
		}
		o.query.Set("limit", strconv.Itoa(limit))
		if cursor != "" {
			o.query.Set("cursor", cursor)
		}
		var resp cursorResponse[T]
		if err := c.call(ctx, o, &resp); err != nil {
			return fmt.Errorf("list %s, page %d: %w", what, page, err)
		}
		noteExtra(ctx, c, resp.Data)
		if len(resp.Data) > 0 {
			if err := fn(resp.Data); err != nil {
				return err
			}
		}
		next := ""
		if resp.Meta.Cursor != nil {
			next = *resp.Meta.Cursor
		}
		if co.OnCursor != nil {
			co.OnCursor(next)
		}
		if next == "" {
			return nil
		}
		if next == cursor {
			return fmt.Errorf("list %s, page %d: %w: the server returned the cursor it was given", what, page, ErrBadResponse)
		}
		cursor = next
	}
}

// Query parameter helpers: unset values are left out.

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// formatTime renders an API timestamp: UTC, RFC 3339, with as many fractional digits as the
// value has (the server keeps microseconds in v4).
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func setTime(q url.Values, k string, t time.Time) {
	if !t.IsZero() {
		q.Set(k, formatTime(t))
	}
}

func setCSV(q url.Values, k string, vs []string) {
	if len(vs) > 0 {
		q.Set(k, strings.Join(vs, ","))
	}
}

func setMulti(q url.Values, k string, vs []string) {
	for _, v := range vs {
		q.Add(k, v)
	}
}

func setBool(q url.Values, k string, v *bool) {
	if v != nil {
		q.Set(k, strconv.FormatBool(*v))
	}
}

func setFloat(q url.Values, k string, v *float64) {
	if v != nil {
		q.Set(k, strconv.FormatFloat(*v, 'g', -1, 64))
	}
}

// requireNames fails for empty path parameters, which would address a different endpoint.
func requireNames(what string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("%s: %s is empty: %w", what, pairs[i], ErrBadRequest)
		}
	}
	return nil
}
