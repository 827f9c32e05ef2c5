package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Ids travel verbatim. Langfuse stores an OTLP id as a string: a protobuf id
// (bytes) becomes its lowercase hex, an OTLP/JSON id that is a string is
// kept as it is (OtelIngestionProcessor.ts parseId; otel/utils.ts
// getOtelIdRejectionReason: "any string is convertible"). So spans whose
// ids are lowercase OTel hex go as protobuf and all others (UUIDs of older
// SDKs, t-<traceId> placeholder roots, ids of other tools) as OTLP/JSON, and
// every id arrives unchanged: scores, comments, run items and queue items
// keep pointing at what they pointed at in the source.
//
// Options.RewriteIDs brings back the deterministic rewrite for destinations
// that refuse non-hex ids: the same lake always maps to the same ids, which
// is what makes a resumed or repeated import address the same rows (the
// official migration cookbook uses the same sha256 prefixes).

// RewriteTraceID maps a source trace id to a 32-character OTel trace id:
// OTel hex is kept, a UUID loses its dashes (and is lowercased), anything
// else is the first 32 hex digits of its SHA-256.
func RewriteTraceID(src string) string {
	if isHex(src, 32) {
		return src
	}
	if u := strings.ReplaceAll(src, "-", ""); len(src) == 36 && isHex(strings.ToLower(u), 32) && uuidShape(src) {
		return strings.ToLower(u)
	}
	return hashHex(src, 32)
}

// RewriteSpanID maps a source observation id to a 16-character OTel span
// id: OTel hex is kept, anything else (UUIDs included) is the first 16 hex
// digits of its SHA-256.
func RewriteSpanID(src string) string {
	if isHex(src, 16) {
		return src
	}
	return hashHex(src, 16)
}

// RootSpanID is the span id of the root observation made for a v3 trace
// without observations.
func RootSpanID(traceID string) string { return hashHex("lakefuse-trace-root:"+traceID, 16) }

// PlaceholderID is the id Langfuse v4 gives the root row it synthesises for
// a trace (packages/shared/src/server/repositories/definitions.ts
// convertTraceToStagingObservation, worker/src/backgroundMigrations/
// createRootSpansFromTraces.ts). The server recognises the row by this id
// alone (event-query-builder.ts leaves it out of observation counts).
func PlaceholderID(traceID string) string { return "t-" + traceID }

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

// protoIDs reports whether a span with these destination ids survives
// protobuf unchanged: its ids are bytes there, which Langfuse turns back
// into lowercase hex.
func protoIDs(trace, span, parent string) bool {
	return isHex(trace, 32) && isHex(span, 16) && (parent == "" || isHex(parent, 16))
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

// idMapper maps the ids of tracing objects (traces and observations) to
// the destination's: verbatim, or rewritten when rewrite is set.
type idMapper struct{ rewrite bool }

// ids is the importer's id mapping.
func (im *importer) ids() idMapper { return idMapper{rewrite: im.o.RewriteIDs} }

func (m idMapper) traceID(id string) string {
	if m.rewrite && id != "" {
		return RewriteTraceID(id)
	}
	return id
}

func (m idMapper) spanID(id string) string {
	if m.rewrite && id != "" {
		return RewriteSpanID(id)
	}
	return id
}

func (m idMapper) trace(id *string) *string {
	if id == nil || *id == "" || !m.rewrite {
		return id
	}
	s := RewriteTraceID(*id)
	return &s
}

func (m idMapper) span(id *string) *string {
	if id == nil || *id == "" || !m.rewrite {
		return id
	}
	s := RewriteSpanID(*id)
	return &s
}
