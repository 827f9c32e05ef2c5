package redact

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A path selects values inside a JSON document. The syntax is the common
// subset of JSONPath:
//
//	$                 the whole document
//	$.name  $['name'] $["name"]   a member
//	$[0]              an array element
//	$.*  $[*]         every member or element
//	$..name           a member at any depth below
//	name              a bare key name: $..name
type path []seg

type segKind uint8

const (
	sKey segKind = iota
	sIndex
	sAny
	sDescend
)

type seg struct {
	kind segKind
	key  string
	idx  int
}

// elem is one step of a concrete location: a member key or an index.
type elem struct {
	key   string
	idx   int
	isIdx bool
}

func parsePath(s string) (path, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	if s[0] != '$' {
		return path{{kind: sDescend}, {kind: sKey, key: s}}, nil
	}
	var p path
	i := 1
	bad := func(why string) (path, error) { return nil, fmt.Errorf("path %q: %s at offset %d", s, why, i) }
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				p = append(p, seg{kind: sDescend})
				i++
				if i < len(s) && s[i] == '[' {
					continue
				}
			}
			if i < len(s) && s[i] == '*' {
				p = append(p, seg{kind: sAny})
				i++
				continue
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i {
				return bad("a member name is missing")
			}
			p = append(p, seg{kind: sKey, key: s[i:j]})
			i = j
		case '[':
			i++
			if i >= len(s) {
				return bad("unclosed [")
			}
			switch c := s[i]; {
			case c == '*':
				if i+1 >= len(s) || s[i+1] != ']' {
					return bad("expected ]")
				}
				p = append(p, seg{kind: sAny})
				i += 2
			case c == '\'':
				j := i + 1
				var b strings.Builder
				for j < len(s) && s[j] != '\'' {
					if s[j] == '\\' && j+1 < len(s) {
						j++
					}
					b.WriteByte(s[j])
					j++
				}
				if j+1 >= len(s) || s[j+1] != ']' {
					return bad("unclosed '")
				}
				p = append(p, seg{kind: sKey, key: b.String()})
				i = j + 2
			case c == '"':
				j := i + 1
				for j < len(s) && s[j] != '"' {
					if s[j] == '\\' {
						j++
					}
					j++
				}
				var k string
				if j+1 >= len(s) || s[j+1] != ']' || json.Unmarshal([]byte(s[i:j+1]), &k) != nil {
					return bad("bad quoted name")
				}
				p = append(p, seg{kind: sKey, key: k})
				i = j + 2
			default:
				j := strings.IndexByte(s[i:], ']')
				if j < 0 {
					return bad("unclosed [")
				}
				n, err := strconv.Atoi(s[i : i+j])
				if err != nil || n < 0 {
					return bad("expected an index, '*' or a quoted name")
				}
				p = append(p, seg{kind: sIndex, idx: n})
				i += j + 1
			}
		default:
			return bad("expected . or [")
		}
	}
	if len(p) > 0 && p[len(p)-1].kind == sDescend {
		return nil, fmt.Errorf("path %q ends with a descent (..) and no name", s)
	}
	return p, nil
}

// match reports whether the path selects the location loc.
func (p path) match(loc []elem) bool {
	if len(p) == 0 {
		return len(loc) == 0
	}
	switch sg := p[0]; sg.kind {
	case sDescend:
		for k := 0; k <= len(loc); k++ {
			if p[1:].match(loc[k:]) {
				return true
			}
		}
		return false
	case sKey:
		return len(loc) > 0 && !loc[0].isIdx && loc[0].key == sg.key && p[1:].match(loc[1:])
	case sIndex:
		return len(loc) > 0 && loc[0].isIdx && loc[0].idx == sg.idx && p[1:].match(loc[1:])
	default:
		return len(loc) > 0 && p[1:].match(loc[1:])
	}
}

// parseLocation reads a concrete JSONPath as the exporter and Langfuse write
// them for media references ($.a['b c'][0]); ok is false for anything with
// wildcards or that does not parse.
func parseLocation(s string) ([]elem, bool) {
	p, err := parsePath(s)
	if err != nil || len(s) == 0 || s[0] != '$' {
		return nil, false
	}
	loc := make([]elem, 0, len(p))
	for _, sg := range p {
		switch sg.kind {
		case sKey:
			loc = append(loc, elem{key: sg.key})
		case sIndex:
			loc = append(loc, elem{idx: sg.idx, isIdx: true})
		default:
			return nil, false
		}
	}
	return loc, true
}
