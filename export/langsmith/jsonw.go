package langsmith

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// bytesOf views s as bytes without copying, for read-only use (json.Valid,
// json.Unmarshal). The converter reads every payload at least once; copying
// each first would double that work.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// obj writes a JSON object member by member. Values passed as raw must be
// valid JSON.
type obj struct {
	b []byte
	n [8]int // members written, per open object
	d int    // open objects
}

func (o *obj) begin() {
	o.b = append(o.b, '{')
	o.n[o.d] = 0
	o.d++
}

func (o *obj) end() {
	o.b = append(o.b, '}')
	o.d--
}

// members is the number of members of the innermost open object.
func (o *obj) members() int { return o.n[o.d-1] }

func (o *obj) sep() {
	if o.n[o.d-1] > 0 {
		o.b = append(o.b, ',')
	}
	o.n[o.d-1]++
}

func (o *obj) key(k string) {
	o.sep()
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

// rawKV appends a member whose key is already JSON (quoted, escaped).
func (o *obj) rawKV(k, v string) {
	o.sep()
	o.b = append(o.b, k...)
	o.b = append(o.b, ':')
	o.b = append(o.b, v...)
}

func (o *obj) raw(k, v string) {
	o.key(k)
	o.b = append(o.b, v...)
}

func (o *obj) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *obj) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *obj) float(k string, v float64) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'g', -1, 64)
}

func (o *obj) time(k string, t time.Time) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = t.UTC().AppendFormat(o.b, time.RFC3339Nano)
	o.b = append(o.b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: most text needs no escaping.
		if j := jsonx.SkipPlain(s, i); j > i {
			i = j
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
