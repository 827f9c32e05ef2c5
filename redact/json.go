package redact

import (
	"encoding/json"
	"strings"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// rule is a path with its action.
type rule struct {
	p      path
	action string
}

// rewriter rewrites one JSON document: it copies the text and splices in
// edits (in increasing order), so an unchanged document costs no
// allocation and the output keeps the input's formatting.
type rewriter struct {
	r     *Redactor
	f     *fieldPlan
	s     string
	out   []byte
	last  int
	loc   []elem
	spans []span
}

const maxDepth = 10000 // as encoding/json

func (w *rewriter) edit(a, b int, repl string) {
	if w.out == nil {
		w.out = make([]byte, 0, len(w.s)+len(repl))
	}
	w.out = append(w.out, w.s[w.last:a]...)
	w.out = append(w.out, repl...)
	w.last = b
}

// rewrite returns the redacted document; changed is false when nothing
// was edited. Text that is not JSON is redacted as plain text.
func (w *rewriter) rewrite(s string) (string, bool) {
	w.s, w.out, w.last, w.loc = s, nil, 0, w.loc[:0]
	i := ws(s, 0)
	end, ok := w.value(i, 0, false)
	if ok {
		ok = ws(s, end) == len(s)
	}
	if !ok {
		w.out, w.last = nil, 0
		if w.f.detect {
			w.detect(0, len(s), false)
		}
	}
	if w.out == nil {
		return s, false
	}
	w.out = append(w.out, s[w.last:]...)
	return string(w.out), true
}

func ws(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// action returns the strongest action of the rules that select the current
// location: drop, then hash, then mask.
func (w *rewriter) action() string {
	best := ""
	for _, r := range w.f.rules {
		if (best == "" || rank(r.action) > rank(best)) && r.p.match(w.loc) {
			best = r.action
		}
	}
	return best
}

func rank(a string) int {
	switch a {
	case Drop:
		return 3
	case Hash:
		return 2
	}
	return 1
}

// value scans the value at i and applies the field's rules and detectors
// inside it (unless quiet); it returns the end and whether it is valid.
func (w *rewriter) value(i, depth int, quiet bool) (int, bool) {
	s := w.s
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; {
	case c == '"':
		e, esc := strEnd(s, i)
		if e < 0 {
			return i, false
		}
		if !quiet && w.f.detect {
			w.detect(i+1, e-1, esc)
		}
		return e, true
	case c == '{':
		if depth >= maxDepth {
			return i, false
		}
		return w.object(i, depth+1, quiet)
	case c == '[':
		if depth >= maxDepth {
			return i, false
		}
		return w.array(i, depth+1, quiet)
	case c == 't':
		return lit(s, i, "true")
	case c == 'f':
		return lit(s, i, "false")
	case c == 'n':
		return lit(s, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return number(s, i)
	}
	return i, false
}

func (w *rewriter) object(i, depth int, quiet bool) (int, bool) {
	s := w.s
	i = ws(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	sep := -1        // the comma before this member; -1 for the first
	pending := false // members before were all dropped: the next kept one loses its comma
	for {
		i = ws(s, i)
		if i >= len(s) || s[i] != '"' {
			return i, false
		}
		k0 := i
		ke, kesc := strEnd(s, i)
		if ke < 0 {
			return i, false
		}
		i = ws(s, ke)
		if i >= len(s) || s[i] != ':' {
			return i, false
		}
		v0 := ws(s, i+1)
		act := ""
		if !quiet && len(w.f.rules) > 0 {
			w.loc = append(w.loc, elem{key: unquote(s[k0:ke], kesc)})
			act = w.action()
		}
		var ve int
		var ok bool
		switch act {
		case Drop:
			if ve, ok = w.value(v0, depth, true); !ok {
				return ve, false
			}
			if sep < 0 {
				w.edit(k0, ve, "")
				pending = true
			} else {
				w.edit(sep, ve, "")
			}
			w.r.count(w.f, nDrop)
		case Hash, Mask:
			if ve, ok = w.value(v0, depth, true); !ok {
				return ve, false
			}
			if pending {
				w.edit(sep, k0, "")
				pending = false
			}
			w.keyDetect(k0, ke, kesc, quiet)
			w.replace(v0, ve, act)
		default:
			if pending {
				w.edit(sep, k0, "")
				pending = false
			}
			w.keyDetect(k0, ke, kesc, quiet)
			if ve, ok = w.value(v0, depth, quiet); !ok {
				return ve, false
			}
		}
		if !quiet && len(w.f.rules) > 0 {
			w.loc = w.loc[:len(w.loc)-1]
		}
		i = ws(s, ve)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ',':
			sep = i
			i++
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

func (w *rewriter) keyDetect(k0, ke int, esc, quiet bool) {
	if !quiet && w.f.detect && w.r.pol.DetectKeys {
		w.detect(k0+1, ke-1, esc)
	}
}

func (w *rewriter) array(i, depth int, quiet bool) (int, bool) {
	s := w.s
	i = ws(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for n := 0; ; n++ {
		i = ws(s, i)
		act := ""
		if !quiet && len(w.f.rules) > 0 {
			w.loc = append(w.loc, elem{idx: n, isIdx: true})
			act = w.action()
		}
		var e int
		var ok bool
		if act != "" {
			if e, ok = w.value(i, depth, true); !ok {
				return e, false
			}
			w.replace(i, e, act)
		} else if e, ok = w.value(i, depth, quiet); !ok {
			return e, false
		}
		if !quiet && len(w.f.rules) > 0 {
			w.loc = w.loc[:len(w.loc)-1]
		}
		i = ws(s, e)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// replace applies a value action to s[a:b]: an array element that is
// dropped becomes null, a hashed value the string [HMAC:…], a masked one
// [MASKED].
func (w *rewriter) replace(a, b int, act string) {
	v := w.s[a:b]
	switch act {
	case Drop:
		w.edit(a, b, "null")
		w.r.count(w.f, nDrop)
	case Hash:
		in := v
		if v[0] == '"' {
			in = unquote(v, strings.IndexByte(v, '\\') >= 0)
			if isHMAC(in) {
				return
			}
		}
		w.edit(a, b, `"`+w.r.hmacTag(in)+`"`)
		w.r.count(w.f, nHash)
	case Mask:
		if v == `"`+maskText+`"` {
			return
		}
		w.edit(a, b, `"`+maskText+`"`)
		w.r.count(w.f, nMask)
	}
}

// detect runs the detectors over s[a:b] (the raw text of a JSON string
// when escaped) and splices in the placeholders.
func (w *rewriter) detect(a, b int, escaped bool) {
	w.spans = w.r.det.find(w.s[a:b], escaped, w.spans[:0])
	for _, sp := range w.spans {
		w.edit(a+sp.a, a+sp.b, placeholders[sp.k])
		w.r.count(w.f, int(sp.k))
	}
}

// strEnd returns the index after the string starting with the quote at i
// (-1 when it is not a valid JSON string) and whether it holds escapes.
func strEnd(s string, i int) (int, bool) {
	j := i + 1
	esc := false
	for j < len(s) {
		j = jsonx.SkipUnescaped(s, j)
		if j >= len(s) {
			break
		}
		c := s[j]
		switch {
		case c == '"':
			return j + 1, esc
		case c == '\\':
			esc = true
			if j+1 >= len(s) {
				return -1, esc
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) || !isHexDigit(s[j+2]) || !isHexDigit(s[j+3]) || !isHexDigit(s[j+4]) || !isHexDigit(s[j+5]) {
					return -1, esc
				}
				j += 6
			default:
				return -1, esc
			}
		case c < 0x20:
			return -1, esc
		default:
			j++
		}
	}
	return -1, esc
}

// unquote returns the content of a JSON string token.
func unquote(tok string, esc bool) string {
	if !esc {
		return tok[1 : len(tok)-1]
	}
	var v string
	if json.Unmarshal([]byte(tok), &v) != nil {
		return tok[1 : len(tok)-1]
	}
	return v
}

func lit(s string, i int, w string) (int, bool) {
	if strings.HasPrefix(s[i:], w) {
		return i + len(w), true
	}
	return i, false
}

func number(s string, i int) (int, bool) {
	digits := func() int {
		k := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - k
	}
	if s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return i, false
	}
	if s[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}
