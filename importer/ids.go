package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Langfuse keeps OTLP ids as lowercase hex (protobuf ids are bytes), so a
// source id that is not already OTel hex gets a deterministic one: the same
// lake always maps to the same destination ids, which is what makes a resumed
// or repeated import address the same rows. The official migration cookbook
// uses the same sha256 prefixes.

// TraceID maps a source trace id to a 32-character OTel trace id: OTel hex
// is kept, a UUID loses its dashes (and is lowercased), anything else is the
// first 32 hex digits of its SHA-256.
func TraceID(src string) string {
	if isHex(src, 32) {
		return src
	}
	if u := strings.ReplaceAll(src, "-", ""); len(src) == 36 && isHex(strings.ToLower(u), 32) && uuidShape(src) {
		return strings.ToLower(u)
	}
	return hashHex(src, 32)
}

// SpanID maps a source observation id to a 16-character OTel span id: OTel
// hex is kept, anything else (UUIDs included) is the first 16 hex digits of
// its SHA-256.
func SpanID(src string) string {
	if isHex(src, 16) {
		return src
	}
	return hashHex(src, 16)
}

// RootSpanID is the span id of the root observation made for a v3 trace
// without observations.
func RootSpanID(traceID string) string { return hashHex("lakefuse-trace-root:"+traceID, 16) }

func hashHex(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// isHex reports whether s is n lowercase hex digits, not all zero (OTel
// treats an all-zero id as invalid).
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	zero := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if c != '0' {
				zero = false
			}
		case c >= 'a' && c <= 'f':
			zero = false
		default:
			return false
		}
	}
	return !zero
}

func uuidShape(s string) bool {
	for i, c := range s {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if (c == '-') != dash {
			return false
		}
	}
	return true
}

// idMapper maps the ids of tracing objects (traces and observations) that
// other rows refer to.
type idMapper struct{}

func (idMapper) trace(id *string) *string {
	if id == nil || *id == "" {
		return id
	}
	s := TraceID(*id)
	return &s
}

func (idMapper) span(id *string) *string {
	if id == nil || *id == "" {
		return id
	}
	s := SpanID(*id)
	return &s
}
