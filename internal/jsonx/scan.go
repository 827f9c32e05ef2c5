// Package jsonx validates and walks JSON text in one pass without
// allocating, for the hot paths that check every input, output and metadata
// document (the LangSmith converter, the test server's OTLP ingestion).
// encoding/json validates at about 200 MB/s and decoding into maps
// allocates per member; these functions hand out members as substrings.
// FuzzValid checks them against encoding/json. The package owns no I/O and
// imports no other lakefuse package.
package jsonx

import (
	"encoding/binary"
	"unsafe"
)

const maxDepth = 10000 // as encoding/json

type scanner struct {
	s string
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// Valid reports whether s is exactly one JSON value, surrounded by
// optional whitespace, as json.Valid does.
func Valid(s string) bool {
	p := scanner{s: s}
	p.ws()
	if !p.value(0) {
		return false
	}
	p.ws()
	return p.i == len(s)
}

func (p *scanner) value(depth int) bool {
	if p.i >= len(p.s) {
		return false
	}
	// A container opened here is nesting level depth+1; encoding/json
	// allows maxDepth levels.
	if c := p.s[p.i]; (c == '{' || c == '[') && depth >= maxDepth {
		return false
	}
	switch c := p.s[p.i]; c {
	case '"':
		return p.str()
	case '{':
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return true
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' || !p.str() {
				return false
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return false
			}
			p.i++
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.i >= len(p.s) {
				return false
			}
			if p.s[p.i] == '}' {
				p.i++
				return true
			}
			if p.s[p.i] != ',' {
				return false
			}
			p.i++
		}
	case '[':
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return true
		}
		for {
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.i >= len(p.s) {
				return false
			}
			if p.s[p.i] == ']' {
				p.i++
				return true
			}
			if p.s[p.i] != ',' {
				return false
			}
			p.i++
		}
	case 't':
		return p.lit("true")
	case 'f':
		return p.lit("false")
	case 'n':
		return p.lit("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return p.number()
		}
		return false
	}
}

func (p *scanner) lit(w string) bool {
	if len(p.s)-p.i < len(w) || p.s[p.i:p.i+len(w)] != w {
		return false
	}
	p.i += len(w)
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// str scans a string starting at its opening quote. Like encoding/json it
// does not insist on valid UTF-8 (json.Unmarshal replaces bad bytes).
func (p *scanner) str() bool {
	s := p.s
	i := p.i + 1
	for i < len(s) {
		i = skipString(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c == '"' {
			p.i = i + 1
			return true
		}
		if c < 0x20 {
			return false
		}
		if c == '\\' {
			if i+1 >= len(s) {
				return false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
			continue
		}
		i++
	}
	return false
}

func (p *scanner) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

func (p *scanner) number() bool {
	if p.s[p.i] == '-' {
		p.i++
	}
	if p.i >= len(p.s) {
		return false
	}
	if p.s[p.i] == '0' {
		p.i++
	} else if p.digits() == 0 {
		return false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

// Members calls fn with each member of the JSON object s: the key as
// written (quoted, escapes kept) and the value's text. It returns false
// when s is not a valid JSON object; fn may then have seen some members.
// fn returns false to stop early.
func Members(s string, fn func(key, val string) bool) bool {
	p := scanner{s: s}
	p.ws()
	if p.i >= len(s) || s[p.i] != '{' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(s) && s[p.i] == '}' {
		p.i++
		p.ws()
		return p.i == len(s)
	}
	for {
		p.ws()
		k0 := p.i
		if p.i >= len(s) || s[p.i] != '"' || !p.str() {
			return false
		}
		key := s[k0:p.i]
		p.ws()
		if p.i >= len(s) || s[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		v0 := p.i
		if !p.value(1) {
			return false
		}
		if !fn(key, s[v0:p.i]) {
			return true
		}
		p.ws()
		if p.i >= len(s) {
			return false
		}
		if s[p.i] == '}' {
			p.i++
			p.ws()
			return p.i == len(s)
		}
		if s[p.i] != ',' {
			return false
		}
		p.i++
	}
}

// Elements calls fn with each element of the JSON array s; false when s
// is not a valid JSON array.
func Elements(s string, fn func(val string) bool) bool {
	p := scanner{s: s}
	p.ws()
	if p.i >= len(s) || s[p.i] != '[' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(s) && s[p.i] == ']' {
		p.i++
		p.ws()
		return p.i == len(s)
	}
	for {
		p.ws()
		v0 := p.i
		if !p.value(1) {
			return false
		}
		if !fn(s[v0:p.i]) {
			return true
		}
		p.ws()
		if p.i >= len(s) {
			return false
		}
		if s[p.i] == ']' {
			p.i++
			p.ws()
			return p.i == len(s)
		}
		if s[p.i] != ',' {
			return false
		}
		p.i++
	}
}

// Member returns the value of the first member of object s whose key is
// name (written without escapes, as LangSmith's keys are).
func Member(s, name string) (string, bool) {
	var out string
	found := false
	Members(s, func(k, v string) bool {
		if len(k) == len(name)+2 && k[1:len(k)-1] == name {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipString returns the index of the first quote, backslash or control
// character at or after i, or of the first byte of the last incomplete
// 8-byte block. Unlike SkipPlain it passes over non-ASCII bytes (a JSON
// string may hold any of them; validity of UTF-8 is not JSON's concern, as
// in encoding/json), so that text in Japanese or with emoji is scanned a
// block at a time too, and it stops at the byte itself, not at its block.
func skipString(s string, i int) int { return SkipUnescaped(s, i) }

// SkipPlain returns the index of the first 8-byte block at or after i that
// holds a control character, a quote, a backslash or a non-ASCII byte (the
// bytes a JSON string must escape or a scanner must look at); only whole
// blocks are skipped.
func SkipPlain(s string, i int) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		bs := x ^ (lsb * '\\')
		// The high bit of a byte is set in x-k·lsb when the byte is below k
		// (or a borrow reached it, which only makes this conservative),
		// so a zero byte of q or bs, a byte below 0x20, or a non-ASCII
		// byte shows there.
		if ((x-lsb*0x20)|(q-lsb)|(bs-lsb)|x)&msb != 0 {
			return i
		}
		i += 8
	}
	return i
}
