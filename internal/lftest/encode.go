package lftest

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// A page of v2 observations is the response a large export asks for a
// thousand times per million rows. Encoding it through reflection cost more
// than the rest of the server, so obsV2JSON appends itself: the same bytes
// marshalJSON produces (encode_test.go compares the two).

// encodedJSON is a response body that is already JSON; writeJSON sends it as
// is and then keeps the buffer for the next page (pages), so it must
// belong to the response alone.
type encodedJSON []byte

// appendJSON appends v as marshalJSON encodes it: members in declaration
// order, a nil group's members absent.
func (v *obsV2JSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"traceId":`...)
	b = appendString(b, v.TraceID)
	b = append(b, `,"startTime":`...)
	b = appendISO(b, time.Time(v.StartTime))
	b = append(b, `,"endTime":`...)
	b = appendISOPtr(b, v.EndTime)
	b = append(b, `,"projectId":`...)
	b = appendString(b, v.ProjectID)
	b = append(b, `,"parentObservationId":`...)
	b = appendStringPtr(b, v.ParentObservationID)
	b = append(b, `,"type":`...)
	b = appendString(b, v.Type)
	b = append(b, `,"modelId":`...)
	b = appendStringPtr(b, v.ModelID)
	b = append(b, `,"inputPrice":`...)
	b = appendStringPtr(b, v.InputPrice)
	b = append(b, `,"outputPrice":`...)
	b = appendStringPtr(b, v.OutputPrice)
	b = append(b, `,"totalPrice":`...)
	b = appendStringPtr(b, v.TotalPrice)
	if g := v.v2Basic; g != nil {
		b = append(b, `,"name":`...)
		b = appendStringPtr(b, g.Name)
		b = append(b, `,"level":`...)
		b = appendString(b, g.Level)
		b = append(b, `,"statusMessage":`...)
		b = appendStringPtr(b, g.StatusMessage)
		b = append(b, `,"version":`...)
		b = appendStringPtr(b, g.Version)
		b = append(b, `,"environment":`...)
		b = appendString(b, g.Environment)
		b = append(b, `,"bookmarked":`...)
		b = strconv.AppendBool(b, g.Bookmarked)
		b = append(b, `,"public":`...)
		b = strconv.AppendBool(b, g.Public)
		b = append(b, `,"userId":`...)
		b = appendStringPtr(b, g.UserID)
		b = append(b, `,"sessionId":`...)
		b = appendStringPtr(b, g.SessionID)
		b = append(b, `,"isRootObservation":`...)
		b = strconv.AppendBool(b, g.IsRootObservation)
	}
	if g := v.v2Time; g != nil {
		b = append(b, `,"completionStartTime":`...)
		b = appendISOPtr(b, g.CompletionStartTime)
		b = append(b, `,"createdAt":`...)
		b = appendISO(b, time.Time(g.CreatedAt))
		b = append(b, `,"updatedAt":`...)
		b = appendISO(b, time.Time(g.UpdatedAt))
	}
	if g := v.v2IO; g != nil {
		b = append(b, `,"input":`...)
		b = appendStringPtr(b, g.Input)
		b = append(b, `,"output":`...)
		b = appendStringPtr(b, g.Output)
	}
	if g := v.v2Metadata; g != nil {
		b = append(b, `,"metadata":`...)
		b = appendMap(b, g.Metadata, appendString)
	}
	if g := v.v2Model; g != nil {
		b = append(b, `,"providedModelName":`...)
		b = appendStringPtr(b, g.ProvidedModelName)
		b = append(b, `,"internalModelId":`...)
		b = appendStringPtr(b, g.InternalModelID)
		b = append(b, `,"modelParameters":`...)
		b = appendRaw(b, g.ModelParameters)
	}
	if g := v.v2Usage; g != nil {
		b = append(b, `,"usageDetails":`...)
		b = appendMap(b, g.UsageDetails, func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) })
		b = append(b, `,"costDetails":`...)
		b = appendMap(b, g.CostDetails, appendFloat)
		b = append(b, `,"totalCost":`...)
		b = appendFloatPtr(b, g.TotalCost)
		b = append(b, `,"usagePricingTierName":`...)
		b = appendStringPtr(b, g.UsagePricingTierName)
	}
	if g := v.v2Prompt; g != nil {
		b = append(b, `,"promptId":`...)
		b = appendStringPtr(b, g.PromptID)
		b = append(b, `,"promptName":`...)
		b = appendStringPtr(b, g.PromptName)
		b = append(b, `,"promptVersion":`...)
		if g.PromptVersion == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, int64(*g.PromptVersion), 10)
		}
	}
	if g := v.v2Metrics; g != nil {
		b = append(b, `,"latency":`...)
		b = appendFloatPtr(b, g.Latency)
		b = append(b, `,"timeToFirstToken":`...)
		b = appendFloatPtr(b, g.TimeToFirstToken)
	}
	if g := v.v2TraceContext; g != nil {
		b = append(b, `,"tags":`...)
		if g.Tags == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, t := range g.Tags {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, t)
			}
			b = append(b, ']')
		}
		b = append(b, `,"release":`...)
		b = appendStringPtr(b, g.Release)
		b = append(b, `,"traceName":`...)
		b = appendStringPtr(b, g.TraceName)
	}
	return append(b, '}')
}

func appendISO(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, '"')
}

func appendISOPtr(b []byte, t *isoTime) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendISO(b, time.Time(*t))
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendMap encodes a map as encoding/json does: keys sorted, nil as null.
func appendMap[V any](b []byte, m map[string]V, val func([]byte, V) []byte) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = val(b, m[k])
	}
	return append(b, '}')
}

// appendRaw appends raw JSON compacted, as encoding/json does with a
// json.RawMessage; nil is null.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		// Payloads are checked when they are stored; keep the bytes.
		return append(b, raw...)
	}
	return append(b, buf.Bytes()...)
}

func appendFloatPtr(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return appendFloat(b, *f)
}

// appendFloat formats like encoding/json (ES6 number to string). The
// server's numbers are finite; NaN and infinities become null rather than
// an error.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	return jsonx.AppendFloat(b, f)
}

// safeASCII marks the ASCII bytes a JSON string holds as they are.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString quotes s as marshalJSON does (encoding/json without HTML
// escaping): invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
