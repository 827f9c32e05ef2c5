package lftest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"time"
)

// pageMeta is utilsMetaResponse.
type pageMeta struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
}

type pageReq struct{ page, limit int }

func (p pageReq) offset() int { return (p.page - 1) * p.limit }

func (p pageReq) meta(total int) pageMeta {
	return pageMeta{Page: p.page, Limit: p.limit, TotalItems: total, TotalPages: (total + p.limit - 1) / p.limit}
}

// parsePage reads page (>= 1, default 1) and limit (1..maxLimit, default
// defLimit), as publicApiPaginationZod does.
func parsePage(q url.Values, defLimit, maxLimit int) (pageReq, error) {
	page, err := intParam(q, "page", 1, 1, 1<<31-1)
	if err != nil {
		return pageReq{}, err
	}
	limit, err := intParam(q, "limit", defLimit, 1, maxLimit)
	if err != nil {
		return pageReq{}, err
	}
	return pageReq{page, limit}, nil
}

// pageOf returns the page of items.
func pageOf[T any](items []T, p pageReq) []T {
	lo := min(p.offset(), len(items))
	hi := min(lo+p.limit, len(items))
	return items[lo:hi]
}

// paged is a page-paginated response body.
type paged struct {
	Data any      `json:"data"`
	Meta pageMeta `json:"meta"`
}

// listPage filters items, converts the requested page and wraps it.
func listPage[T any](items []T, p pageReq, keep func(T) bool, conv func(T) any) paged {
	var matched []T
	for _, it := range items {
		if keep == nil || keep(it) {
			matched = append(matched, it)
		}
	}
	out := []any{}
	for _, it := range pageOf(matched, p) {
		out = append(out, conv(it))
	}
	return paged{Data: out, Meta: p.meta(len(matched))}
}

// timeIDCursor is the (timestamp, id) position of the last row of a page of
// the v3 scores and experiments APIs, sent as base64url JSON. The experiments
// APIs version it ("v": 1).
type timeIDCursor struct {
	V    int    `json:"v,omitempty"`
	Time string `json:"lastTimestamp"`
	ID   string `json:"lastId"`
}

func encodeTimeIDCursor(version int, t time.Time, id string) string {
	b, _ := json.Marshal(timeIDCursor{V: version, Time: iso(t), ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTimeIDCursor(s string, version int) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(s)
	}
	var c timeIDCursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	var t time.Time
	if err == nil {
		t, err = parseTime(c.Time)
	}
	if err != nil || c.ID == "" || c.V != version {
		return time.Time{}, "", badRequest("Invalid cursor format")
	}
	return t, c.ID, nil
}

// obsCursor is the v2 observations cursor: standard base64 of JSON
// {lastStartTimeTo, lastTraceId, lastId} (encodeCursor in
// web/src/features/public-api/types/observations.ts).
type obsCursor struct {
	LastStartTimeTo string `json:"lastStartTimeTo"`
	LastTraceID     string `json:"lastTraceId"`
	LastID          string `json:"lastId"`
}

func encodeObsCursor(o *Observation) string {
	b, _ := json.Marshal(obsCursor{LastStartTimeTo: iso(o.StartTime), LastTraceID: o.TraceID, LastID: o.ID})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeObsCursor(s string) (obsKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	var c obsCursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	var t time.Time
	if err == nil {
		t, err = parseTime(c.LastStartTimeTo)
	}
	if err != nil || c.LastID == "" {
		return obsKey{}, badRequest("Invalid cursor format")
	}
	return obsKey{startMs: t.UnixMilli(), hash: xxh32String(c.LastTraceID), id: c.LastID}, nil
}
