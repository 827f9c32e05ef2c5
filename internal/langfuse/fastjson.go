package langfuse

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// A page of v2 observations is megabytes of JSON, and decoding it is most of
// what the client costs an export. encoding/json reads such a page three
// times (validation, the skip to each element's end for its UnmarshalJSON,
// the element's own decode), then decodeObject scans it again for unknown
// members. The fast path here reads it once, validating as it goes.
//
// It only takes input it can decode exactly as encoding/json plus
// decodeObject would: anything unusual (an escaped or case-folded member
// name, a duplicate member, a value of the wrong type, invalid JSON) makes it
// give up, and the caller decodes the whole body the slow way, which also
// produces encoding/json's errors. FuzzFastPage checks the two agree.

// fastDecoder is a wire type with a fast path for fresh (zero) values.
type fastDecoder interface {
	// decodeAt decodes the JSON object at data[i] into the receiver, which
	// is zero, validating it, and returns the index after it.
	decodeAt(data []byte, i int) (end int, ok bool)
}

// decodeFast decodes a page whose items have a fast path. On false r is
// left zero.
func (r *cursorResponse[T]) decodeFast(data []byte) bool {
	if _, ok := any((*T)(nil)).(fastDecoder); !ok {
		return false
	}
	if !r.decodePage(data) {
		*r = cursorResponse[T]{}
		return false
	}
	return true
}

func (r *cursorResponse[T]) decodePage(d []byte) bool {
	var seenData, seenMeta bool
	end, ok := objectFields(d, skipWS(d, 0), func(name []byte, i int) (int, bool) {
		switch string(name) {
		case "data":
			if seenData {
				return 0, false
			}
			seenData = true
			return r.decodeItems(d, i)
		case "meta":
			if seenMeta {
				return 0, false
			}
			seenMeta = true
			return r.decodeMeta(d, i)
		}
		if bytes.EqualFold(name, []byte("data")) || bytes.EqualFold(name, []byte("meta")) {
			return 0, false
		}
		return validValue(d, i, 0)
	})
	return ok && skipWS(d, end) == len(d)
}

func (r *cursorResponse[T]) decodeItems(d []byte, i int) (int, bool) {
	if i >= len(d) || d[i] != '[' {
		return 0, false // null or a wrong type: the slow path knows what to do
	}
	r.Data = make([]T, 0, 64)
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, true
	}
	for {
		var zero T
		r.Data = append(r.Data, zero)
		end, ok := any(&r.Data[len(r.Data)-1]).(fastDecoder).decodeAt(d, i)
		if !ok {
			return 0, false
		}
		i = skipWS(d, end)
		if i >= len(d) {
			return 0, false
		}
		switch d[i] {
		case ']':
			return i + 1, true
		case ',':
			i = skipWS(d, i+1)
		default:
			return 0, false
		}
	}
}

func (r *cursorResponse[T]) decodeMeta(d []byte, i int) (int, bool) {
	if i >= len(d) || d[i] != '{' {
		return 0, false
	}
	seen := false
	return objectFields(d, i, func(name []byte, i int) (int, bool) {
		if string(name) != "cursor" {
			if bytes.EqualFold(name, []byte("cursor")) {
				return 0, false
			}
			return validValue(d, i, 0)
		}
		if seen {
			return 0, false
		}
		seen = true
		end, ok := validValue(d, i, 0)
		if !ok {
			return 0, false
		}
		return end, decStringPtr(&r.Meta.Cursor, d[i:end])
	})
}

// objectFields walks the members of the object at d[i] (validated), calling
// member with each plain (unescaped, valid UTF-8) name and the index of its
// value; member returns the index after the value. It returns the index
// after the object.
func objectFields(d []byte, i int, member func(name []byte, i int) (int, bool)) (int, bool) {
	if i >= len(d) || d[i] != '{' {
		return 0, false
	}
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, false
		}
		end, plain, ok := stringEnd(d, i)
		if !ok || !plain {
			return 0, false
		}
		name := d[i+1 : end-1]
		i = skipWS(d, end)
		if i >= len(d) || d[i] != ':' {
			return 0, false
		}
		i = skipWS(d, i+1)
		if i >= len(d) {
			return 0, false
		}
		if i, ok = member(name, i); !ok {
			return 0, false
		}
		i = skipWS(d, i)
		if i >= len(d) {
			return 0, false
		}
		switch d[i] {
		case '}':
			return i + 1, true
		case ',':
			i = skipWS(d, i+1)
		default:
			return 0, false
		}
	}
}

func skipWS(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\t' || d[i] == '\r') {
		i++
	}
	return i
}

// strStop marks the bytes a JSON string scan stops at: the quote, the
// backslash and control characters (invalid unescaped).
var strStop = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c == '"' || c == '\\' || c < 0x20
	}
	return t
}()

// stringEnd validates the JSON string at d[i] == '"' and returns the index
// after it and whether its content needs no decoding (no escapes, valid
// UTF-8), so that it is its own Go string.
func stringEnd(d []byte, i int) (end int, plain, ok bool) {
	plain = true
	j := i + 1
	for {
		start := j
		j = jsonx.SkipUnescapedBytes(d, j) // eight bytes at a time, then byte by byte
		for j < len(d) && !strStop[d[j]] {
			j++
		}
		// One check per run of text: cheaper than decoding rune by rune.
		if plain && !asciiOnly(d[start:j]) && !utf8.Valid(d[start:j]) {
			plain = false
		}
		if j >= len(d) {
			return 0, false, false
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, plain, true
		case c == '\\':
			plain = false
			if j+1 >= len(d) {
				return 0, false, false
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(d) {
					return 0, false, false
				}
				for _, h := range d[j+2 : j+6] {
					if !isHex(h) {
						return 0, false, false
					}
				}
				j += 6
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
}

// asciiOnly reports whether b is ASCII, eight bytes at a time.
func asciiOnly(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// maxFastDepth bounds the nesting validValue follows; deeper values take the
// slow path (encoding/json allows 10000 levels).
const maxFastDepth = 500

// validValue validates the JSON value at d[i] and returns the index after it.
func validValue(d []byte, i, depth int) (int, bool) {
	if i >= len(d) || depth > maxFastDepth {
		return 0, false
	}
	switch c := d[i]; {
	case c == '"':
		end, _, ok := stringEnd(d, i)
		return end, ok
	case c == '{':
		return objectFieldsAny(d, i, depth)
	case c == '[':
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == ']' {
			return i + 1, true
		}
		for {
			end, ok := validValue(d, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipWS(d, end)
			if i >= len(d) {
				return 0, false
			}
			switch d[i] {
			case ']':
				return i + 1, true
			case ',':
				i = skipWS(d, i+1)
			default:
				return 0, false
			}
		}
	case c == 't':
		return literal(d, i, "true")
	case c == 'f':
		return literal(d, i, "false")
	case c == 'n':
		return literal(d, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return numberEnd(d, i)
	}
	return 0, false
}

// objectFieldsAny validates an object whose member names may be escaped.
func objectFieldsAny(d []byte, i, depth int) (int, bool) {
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, false
		}
		end, _, ok := stringEnd(d, i)
		if !ok {
			return 0, false
		}
		i = skipWS(d, end)
		if i >= len(d) || d[i] != ':' {
			return 0, false
		}
		if end, ok = validValue(d, skipWS(d, i+1), depth+1); !ok {
			return 0, false
		}
		i = skipWS(d, end)
		if i >= len(d) {
			return 0, false
		}
		switch d[i] {
		case '}':
			return i + 1, true
		case ',':
			i = skipWS(d, i+1)
		default:
			return 0, false
		}
	}
}

func literal(d []byte, i int, lit string) (int, bool) {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return 0, false
}

// numberEnd validates the JSON number at d[i].
func numberEnd(d []byte, i int) (int, bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return 0, false
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		start := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		start := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	return i, true
}

// Setters for one validated value. Each reports false where encoding/json
// would do something the fast path does not copy (an escaped string, a
// type error, …).

func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// plainString returns the content of v when it is a string that needs no decoding.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	_, plain, _ := stringEnd(v, 0)
	if !plain {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

func decString(dst *string, v []byte) bool {
	if isNull(v) {
		return true // encoding/json leaves a string alone on null
	}
	s, ok := plainString(v)
	*dst = s
	return ok
}

func decStringPtr(dst **string, v []byte) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	s, ok := plainString(v)
	*dst = &s
	return ok
}

func decTime(dst *time.Time, v []byte) bool {
	if isNull(v) {
		return true
	}
	if v[0] != '"' {
		return false
	}
	return dst.UnmarshalJSON(v) == nil
}

func decTimePtr(dst **time.Time, v []byte) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	*dst = new(time.Time)
	return decTime(*dst, v)
}

func decBoolPtr(dst **bool, v []byte) bool {
	switch string(v) {
	case "null":
		*dst = nil
	case "true", "false":
		b := v[0] == 't'
		*dst = &b
	default:
		return false
	}
	return true
}

func isNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || '0' <= v[0] && v[0] <= '9') }

func decFloatPtr(dst **float64, v []byte) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	if !isNumber(v) {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	*dst = &f
	return err == nil
}

func decIntPtr(dst **int, v []byte) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	if !isNumber(v) {
		return false
	}
	n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
	i := int(n)
	*dst = &i
	return err == nil
}

func decRaw(dst *json.RawMessage, v []byte) bool {
	*dst = append(json.RawMessage(nil), v...)
	return true
}

func decStrings(dst *[]string, v []byte) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	if v[0] != '[' {
		return false
	}
	out := []string{}
	i := skipWS(v, 1)
	if v[i] == ']' {
		*dst = out
		return true
	}
	for {
		end, ok := validValue(v, i, 0)
		if !ok {
			return false
		}
		s, ok := plainString(v[i:end])
		if !ok {
			return false
		}
		out = append(out, s)
		i = skipWS(v, end)
		if v[i] == ']' {
			*dst = out
			return true
		}
		i = skipWS(v, i+1) // a ',': v is valid JSON
	}
}

// decNumberMap decodes an object of numbers with plain names into a new map.
func decNumberMap[N int64 | float64](dst *map[string]N, v []byte, parse func(string) (N, error)) bool {
	if isNull(v) {
		*dst = nil
		return true
	}
	if v[0] != '{' {
		return false
	}
	m := map[string]N{}
	_, ok := objectFields(v, 0, func(name []byte, i int) (int, bool) {
		end, ok := numberEnd(v, i)
		if !ok {
			return 0, false
		}
		n, err := parse(string(v[i:end]))
		if err != nil {
			return 0, false
		}
		m[string(name)] = n
		return end, true
	})
	*dst = m
	return ok
}

func parseInt64(s string) (int64, error)     { return strconv.ParseInt(s, 10, 64) }
func parseFloat64(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// observationV2Fields are the member names of ObservationV2, for the
// case-folded match encoding/json makes of other names.
var observationV2Fields = func() []string {
	var names []string
	for n := range jsonFields(reflect.TypeFor[ObservationV2]()) {
		names = append(names, n)
	}
	return names
}()

// decodeAt decodes one v2 observation, unknown members into Extra.
func (x *ObservationV2) decodeAt(d []byte, i int) (int, bool) {
	var seen uint64
	return objectFields(d, i, func(name []byte, i int) (int, bool) {
		end, ok := validValue(d, i, 0)
		if !ok {
			return 0, false
		}
		v := d[i:end]
		bit, ok := x.setField(name, v)
		if bit == 0 {
			// Not declared: kept unless encoding/json would take it for a
			// declared member spelled in another case.
			for _, f := range observationV2Fields {
				if bytes.EqualFold(name, []byte(f)) {
					return 0, false
				}
			}
			if _, dup := x.Extra[string(name)]; dup {
				return 0, false
			}
			if x.Extra == nil {
				x.Extra = Extra{}
			}
			x.Extra[string(name)] = bytes.Clone(v)
			return end, true
		}
		if !ok || seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		return end, true
	})
}

// setField sets the declared member name from v; bit identifies the member
// (0: not declared).
func (x *ObservationV2) setField(name, v []byte) (bit uint64, ok bool) {
	switch string(name) {
	case "id":
		return 1 << 0, decString(&x.ID, v)
	case "traceId":
		return 1 << 1, decStringPtr(&x.TraceID, v)
	case "startTime":
		return 1 << 2, decTime(&x.StartTime, v)
	case "endTime":
		return 1 << 3, decTimePtr(&x.EndTime, v)
	case "projectId":
		return 1 << 4, decString(&x.ProjectID, v)
	case "parentObservationId":
		return 1 << 5, decStringPtr(&x.ParentObservationID, v)
	case "type":
		return 1 << 6, decString(&x.Type, v)
	case "name":
		return 1 << 7, decStringPtr(&x.Name, v)
	case "level":
		return 1 << 8, decStringPtr(&x.Level, v)
	case "statusMessage":
		return 1 << 9, decStringPtr(&x.StatusMessage, v)
	case "version":
		return 1 << 10, decStringPtr(&x.Version, v)
	case "environment":
		return 1 << 11, decStringPtr(&x.Environment, v)
	case "bookmarked":
		return 1 << 12, decBoolPtr(&x.Bookmarked, v)
	case "public":
		return 1 << 13, decBoolPtr(&x.Public, v)
	case "userId":
		return 1 << 14, decStringPtr(&x.UserID, v)
	case "sessionId":
		return 1 << 15, decStringPtr(&x.SessionID, v)
	case "isRootObservation":
		return 1 << 16, decBoolPtr(&x.IsRootObservation, v)
	case "completionStartTime":
		return 1 << 17, decTimePtr(&x.CompletionStartTime, v)
	case "createdAt":
		return 1 << 18, decTimePtr(&x.CreatedAt, v)
	case "updatedAt":
		return 1 << 19, decTimePtr(&x.UpdatedAt, v)
	case "input":
		return 1 << 20, decRaw(&x.Input, v)
	case "output":
		return 1 << 21, decRaw(&x.Output, v)
	case "metadata":
		return 1 << 22, decRaw(&x.Metadata, v)
	case "providedModelName":
		return 1 << 23, decStringPtr(&x.ProvidedModelName, v)
	case "internalModelId":
		return 1 << 24, decStringPtr(&x.InternalModelID, v)
	case "modelParameters":
		return 1 << 25, decRaw(&x.ModelParameters, v)
	case "usageDetails":
		return 1 << 26, decNumberMap(&x.UsageDetails, v, parseInt64)
	case "costDetails":
		return 1 << 27, decNumberMap(&x.CostDetails, v, parseFloat64)
	case "totalCost":
		return 1 << 28, decFloatPtr(&x.TotalCost, v)
	case "usagePricingTierName":
		return 1 << 29, decStringPtr(&x.UsagePricingTierName, v)
	case "promptId":
		return 1 << 30, decStringPtr(&x.PromptID, v)
	case "promptName":
		return 1 << 31, decStringPtr(&x.PromptName, v)
	case "promptVersion":
		return 1 << 32, decIntPtr(&x.PromptVersion, v)
	case "latency":
		return 1 << 33, decFloatPtr(&x.Latency, v)
	case "timeToFirstToken":
		return 1 << 34, decFloatPtr(&x.TimeToFirstToken, v)
	case "modelId":
		return 1 << 35, decStringPtr(&x.ModelID, v)
	case "inputPrice":
		return 1 << 36, decStringPtr(&x.InputPrice, v)
	case "outputPrice":
		return 1 << 37, decStringPtr(&x.OutputPrice, v)
	case "totalPrice":
		return 1 << 38, decStringPtr(&x.TotalPrice, v)
	case "traceName":
		return 1 << 39, decStringPtr(&x.TraceName, v)
	case "tags":
		return 1 << 40, decStrings(&x.Tags, v)
	case "release":
		return 1 << 41, decStringPtr(&x.Release, v)
	}
	return 0, false
}

// ValidJSON reports whether data is one JSON value, as json.Valid does, in
// one quick pass: the exporter checks every observation's input and output
// with it.
func ValidJSON(data []byte) bool {
	i := skipWS(data, 0)
	if end, ok := validValue(data, i, 0); ok {
		return skipWS(data, end) == len(data)
	}
	// Invalid, or nested deeper than the fast path follows.
	return json.Valid(data)
}
