package langsmith

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"strings"

	"github.com/google/uuid"
)

// The id scheme. Langfuse keeps OTel-hex ids as they come, so ids in the
// lake are the ids that `lakefuse import` sends over OTLP and that the
// Langfuse UI will show:
//
//   - trace id: the LangSmith trace id (a UUID, the root run's id) as 32
//     lowercase hex digits without dashes, a valid OTel trace id;
//   - observation id: the first 16 hex digits of SHA-256 of the run's
//     canonical UUID text, a valid OTel span id;
//   - score id: the LangSmith feedback id for raw feedback; for feedback_stats
//     aggregates a UUID made from SHA-256 of "feedback_stats", the run id and
//     the key.
//
// Ids that are not UUIDs (never seen, but the columns are plain strings)
// hash the same way: a trace id is then the first 32 hex digits of SHA-256
// of the text. The original LangSmith ids stay in the metadata of every row
// (langsmith.run_id, langsmith.trace_id, langsmith.parent_run_id).
const idScheme = "trace id = LangSmith trace_id UUID as 32 hex digits; " +
	"observation id = first 16 hex digits of sha256(run id); " +
	"score id = LangSmith feedback id, or a UUID from sha256(feedback_stats/run id/key) for aggregates; " +
	"originals in metadata.langsmith"

// canonicalID returns the canonical text of a LangSmith id: a UUID in
// lowercase dashed form (whatever spelling it came in: 32 hex digits,
// upper case, braces, urn:uuid:, JSON-quoted), any other text unchanged.
func canonicalID(s string) (string, bool) {
	if len(s) == 36 && isLowerDashedUUID(s) {
		return s, true
	}
	t := strings.TrimSpace(s)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	if u, err := uuid.Parse(t); err == nil {
		return u.String(), true
	}
	return s, false
}

func isLowerDashedUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for _, part := range [5]string{s[:8], s[9:13], s[14:18], s[19:23], s[24:]} {
		for i := 0; i < len(part); i++ {
			if !lowerHex[part[i]] {
				return false
			}
		}
	}
	return true
}

var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// traceHex is the lake's trace id for a LangSmith trace id.
func traceHex(id string) string {
	c, isUUID := canonicalID(id)
	return traceHexOf(c, isUUID)
}

// traceHexOf is traceHex of a canonical id.
func traceHexOf(c string, isUUID bool) string {
	if isUUID {
		var b [32]byte
		j := 0
		for i := 0; i < len(c); i++ {
			if c[i] != '-' {
				b[j] = c[i]
				j++
			}
		}
		return string(b[:])
	}
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:16])
}

// spanHex is the lake's observation id for a LangSmith run id.
func spanHex(id string) string {
	c, _ := canonicalID(id)
	return spanHexOf(c)
}

// spanHexOf is spanHex of a canonical id.
func spanHexOf(c string) string {
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:8])
}

// derivedUUID makes a deterministic UUID (version 8, RFC 9562's
// vendor-specific version) from parts.
func derivedUUID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var u uuid.UUID
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// idHasher hashes canonical ids for the in-memory sets. 64 bits leave a
// collision chance of about n²/2⁶⁵: 3·10⁻⁸ for a million runs.
type idHasher struct{ seed maphash.Seed }

func newIDHasher() idHasher { return idHasher{seed: maphash.MakeSeed()} }

func (h idHasher) sum(id string) uint64 {
	c, _ := canonicalID(id)
	return maphash.String(h.seed, c)
}

// sumOf is sum of a canonical id.
func (h idHasher) sumOf(c string) uint64 { return maphash.String(h.seed, c) }
