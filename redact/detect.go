package redact

import (
	"math"
	"net/netip"
	"strings"
)

// Kind is what a detector finds.
type Kind uint8

// The detectors, in the order they are listed and counted.
const (
	Email Kind = iota
	Phone
	CreditCard
	IBAN
	IP
	Secret
	numKinds
)

var kindNames = [numKinds]string{"email", "phone", "credit_card", "iban", "ip", "secret"}

// String is the detector's name, as policies and placeholders spell it.
func (k Kind) String() string { return kindNames[k] }

// Detectors lists every detector name.
func Detectors() []string { return append([]string(nil), kindNames[:]...) }

// Placeholder is what a value found by detector k is replaced with.
func Placeholder(k Kind) string { return placeholders[k] }

var placeholders = func() (p [numKinds]string) {
	for k := range numKinds {
		p[k] = "[REDACTED:" + kindNames[k] + "]"
	}
	return p
}()

// Byte classes. The detectors scan bytes, not runes: everything they find is
// ASCII, so a replacement never cuts a UTF-8 sequence and never touches a
// JSON escape.
const (
	cUpper  = 1 << iota // A-Z
	cLower              // a-z
	cDigit              // 0-9
	cLocal              // e-mail local part: alnum . _ % + -
	cDomain             // e-mail domain: alnum . -
	cTok                // token: alnum _ -
	cHexCol             // IPv6: hex digits : .
	cWord               // alnum _ (a word continues through these)
	cAlpha  = cUpper | cLower
	cAlnum  = cAlpha | cDigit
)

var class = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var m uint16
		switch {
		case b >= 'A' && b <= 'Z':
			m |= cUpper
		case b >= 'a' && b <= 'z':
			m |= cLower
		case b >= '0' && b <= '9':
			m |= cDigit
		}
		if m != 0 {
			m |= cLocal | cDomain | cTok | cWord
		}
		if b >= 0x80 {
			m |= cLocal | cDomain // internationalised addresses
		}
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' || b == ':' || b == '.' {
			m |= cHexCol
		}
		switch b {
		case '.':
			m |= cLocal | cDomain
		case '_':
			m |= cLocal | cTok | cWord
		case '%', '+':
			m |= cLocal
		case '-':
			m |= cLocal | cDomain | cTok
		}
		t[c] = m
	}
	return t
}()

func is(c byte, m uint16) bool { return class[c]&m != 0 }

// span is one finding: s[a:b] is replaced by the placeholder of k.
type span struct {
	a, b int
	k    Kind
}

// detector finds the enabled kinds in text.
type detector struct {
	on [numKinds]bool
}

// mediaMarker starts a Langfuse media reference token
// (@@@langfuseMedia:type=…|id=…|source=…@@@). Tokens are never redacted by a
// detector: they name content-addressed bytes, and whether those travel is
// decided by the field rules (see Redactor.MediaKept).
const mediaMarker = "@@@langfuseMedia:"

// find appends the findings in s to out, in order and without overlaps.
// escaped says s is the raw text of a JSON string: a backslash escape is a
// word boundary (the n of \n does not start a word) and is never part of a
// finding.
//
// The scan visits each word once and tries a detector only when the word's
// first bytes and length can start what it finds (a digit word followed by
// a dot for an IPv4 address, 13 digits or a group and a separator for a
// card, ...). E-mail addresses are found from their @ (one IndexByte pass)
// and win over anything overlapping them.
func (d *detector) find(s string, escaped bool, out []span) []span {
	n0 := len(out)
	n := len(s)
	var emails []span
	if d.on[Email] && strings.IndexByte(s, '@') >= 0 {
		emails = findEmails(s, escaped)
	}
	next := n // start of the next e-mail address
	if len(emails) > 0 {
		next = emails[0].a
	}
	emit := func(a, e int, k Kind) bool {
		if e > next {
			return false // overlaps an e-mail address, which wins
		}
		out = append(out, span{a, e, k})
		return true
	}
	var m memo
	after := -1 // the index just past the last escape: a word starts there
	i := 0
	for i < n {
		if i >= next {
			out = append(out, emails[0])
			i = emails[0].b
			emails = emails[1:]
			next = n
			if len(emails) > 0 {
				next = emails[0].a
			}
			continue
		}
		c := s[i]
		cl := class[c]
		if cl&cAlnum == 0 {
			switch c {
			case '\\':
				if escaped {
					if i+1 < n && s[i+1] == 'u' {
						i += 6
					} else {
						i += 2
					}
					after = i
					continue
				}
			case '+':
				if d.on[Phone] && (i == 0 || i == after || !is(s[i-1], cWord) && s[i-1] != '+') {
					if e := phoneIntl(s, i); e > 0 && emit(i, e, Phone) {
						i = e
						continue
					} else if e < 0 {
						i = -e // too many digits for a phone number: none inside either
						continue
					}
				}
			case '(':
				if d.on[Phone] && (i == 0 || i == after || !is(s[i-1], cWord)) {
					if e := phoneParen(s, i); e > 0 && emit(i, e, Phone) {
						i = e
						continue
					}
				}
			case ':':
				if d.on[IP] && i+1 < n && s[i+1] == ':' && (i == 0 || i == after || !is(s[i-1], cWord) && s[i-1] != ':') {
					if e := m.ipv6(s, i); e > 0 && emit(i, e, IP) {
						i = e
						continue
					}
				}
			}
			i++
			continue
		}
		// The end of the word that starts (or continues) here.
		j := i + 1
		for j < n && class[s[j]]&cWord != 0 {
			j++
		}
		if i > 0 && i != after && class[s[i-1]]&cWord != 0 {
			i = j // mid-word (after an underscore)
			continue
		}
		if cl&cLower != 0 && !secretStart[c] && j-i < minEntropyLen && (j == n || s[j] != '-' && s[j] != ':') {
			i = j // a plain lower-case word: nothing but an e-mail starts so
			continue
		}
		if i >= 6 && s[i-1] == ':' && s[i-6:i] == "[HMAC:" {
			i = j // a hash this package wrote
			continue
		}
		if a, e, k := d.word(s, i, j, &m); e > 0 && emit(a, e, k) {
			i = e
			continue
		}
		i = j
	}
	if n0 < len(out) && strings.Contains(s, mediaMarker) {
		out = keepMedia(s, out, n0)
	}
	return out
}

// findEmails returns the e-mail addresses in s, found from their @: a
// local part of letters, digits and . _ % + - (or non-ASCII letters), and
// a domain emailDomain accepts.
func findEmails(s string, escaped bool) []span {
	var out []span
	lo := 0
	for off := 0; ; {
		k := strings.IndexByte(s[off:], '@')
		if k < 0 {
			return out
		}
		p := off + k
		off = p + 1
		a := p
		for a > lo && is(s[a-1], cLocal) {
			a--
		}
		if escaped && a > 0 && s[a-1] == '\\' {
			// s[a] may be the letter of an escape (\n, \u00e9): skip it
			// when the backslashes before it are odd in number.
			q := a - 1
			for q > 0 && s[q-1] == '\\' {
				q--
			}
			if (a-q)%2 == 1 {
				if s[a] == 'u' {
					a += 5
				} else {
					a++
				}
			}
		}
		for a < p && s[a] == '.' {
			a++
		}
		if a >= p {
			continue
		}
		e := emailDomain(s, p+1)
		if e == 0 {
			continue
		}
		out = append(out, span{a, e, Email})
		lo, off = e, e
	}
}

// memo remembers the ends of runs that every word start inside them would
// scan again (sk-sk-sk…, 1:1:1:…), so that a scan stays linear.
type memo struct {
	tokEnd, hexEnd int
	entropyDone    int
}

// run returns the end of the run of class m at i, scanning it once.
func run(s string, i int, m uint16, end *int) int {
	if i < *end {
		return *end
	}
	e := i
	for e < len(s) && is(s[e], m) {
		e++
	}
	*end = e
	return e
}

func (m *memo) ipv6(s string, i int) int {
	if i < m.hexEnd {
		return 0 // the run was tried from an earlier start
	}
	e := ipv6(s, i)
	m.hexEnd = run(s, i, cHexCol, &m.hexEnd)
	return e
}

// secretStart marks the first bytes of the well-known key prefixes.
var secretStart = func() (t [256]bool) {
	for _, c := range "sprgxhAeBb" {
		t[c] = true
	}
	return t
}()

// word tries the detectors whose prefilter the word starting at i passes
// (j is the end of its run of word characters) and returns the start and
// end of a finding, or e = 0. A finding starts at i except the token after
// "Bearer ".
func (d *detector) word(s string, i, j int, m *memo) (a, e int, k Kind) {
	n := len(s)
	c := s[i]
	w := j - i
	var sep byte // the byte after the word
	if j < n {
		sep = s[j]
	}
	if is(c, cDigit) {
		if prevDot := i > 0 && (s[i-1] == '.' || s[i-1] == '-'); !prevDot {
			if d.on[IP] && sep == '.' && w <= 3 {
				if e := ipv4(s, i); e > 0 {
					return i, e, IP
				}
			}
			if d.on[CreditCard] && (w >= 13 || w >= 3 && (sep == ' ' || sep == '-')) {
				if e := card(s, i); e > 0 {
					return i, e, CreditCard
				}
			}
			if d.on[Phone] && (w == 3 || w == 1 && c == '1') && (sep == '-' || sep == '.' || sep == ' ') {
				if e := phoneNANP(s, i); e > 0 {
					return i, e, Phone
				}
			}
		}
	} else {
		if d.on[Secret] && secretStart[c] {
			if a, e, isKey := prefixed(s, i, run(s, i, cTok, &m.tokEnd)); isKey && e > 0 {
				return a, e, Secret
			}
		}
		if d.on[IBAN] && w >= 4 && is(c, cUpper) && is(s[i+1], cUpper) && is(s[i+2], cDigit) && is(s[i+3], cDigit) {
			if e := iban(s, i); e > 0 {
				return i, e, IBAN
			}
		}
	}
	if d.on[IP] && sep == ':' && w <= 4 && isHexDigit(c) {
		if e := m.ipv6(s, i); e > 0 {
			return i, e, IP
		}
	}
	if d.on[Secret] && (w >= minEntropyLen || sep == '-') && i >= m.entropyDone {
		e := run(s, i, cTok, &m.tokEnd)
		m.entropyDone = e
		if e-i >= minEntropyLen && highEntropy(s[i:e]) && boundary(s, e) {
			for e < n && s[e] == '=' {
				e++
			}
			return i, e, Secret
		}
	}
	return i, 0, 0
}

// keepMedia drops the findings that overlap a media reference token.
func keepMedia(s string, out []span, n0 int) []span {
	type rng struct{ a, b int }
	var toks []rng
	for off := 0; ; {
		k := strings.Index(s[off:], mediaMarker)
		if k < 0 {
			break
		}
		a := off + k
		e := strings.Index(s[a+len(mediaMarker):], "@@@")
		b := len(s)
		if e >= 0 {
			b = a + len(mediaMarker) + e + 3
		}
		toks = append(toks, rng{a, b})
		off = b
	}
	w := n0
	for _, sp := range out[n0:] {
		hit := false
		for _, t := range toks {
			if sp.a < t.b && t.a < sp.b {
				hit = true
				break
			}
		}
		if !hit {
			out[w] = sp
			w++
		}
	}
	return out[:w]
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// boundary reports whether a finding may end before s[e]: the end of the
// text or a byte that does not continue a word.
func boundary(s string, e int) bool { return e >= len(s) || !is(s[e], cWord) }

// emailDomain returns the end of the domain starting at i (after the @), or
// 0: dot-separated labels of letters, digits and hyphens, at least two, the
// last (the TLD) of two or more letters.
func emailDomain(s string, i int) int {
	n := len(s)
	e := i
	for e < n && is(s[e], cDomain) {
		e++
	}
	for e > i && (s[e-1] == '.' || s[e-1] == '-') {
		e--
	}
	if e == i || e < n && (s[e] == '_' || s[e] == '@') {
		return 0
	}
	d := s[i:e]
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 {
		return 0
	}
	for k := dot + 1; k < len(d); k++ {
		if !is(d[k], cAlpha) {
			return 0
		}
	}
	if d[0] == '.' || d[0] == '-' || strings.Contains(d, "..") {
		return 0
	}
	return e
}

// ipv4 returns the end of a dotted quad at i (each octet 0-255, no leading
// zeros), or 0; a dotted number that goes on (1.2.3.4.5) is not one.
func ipv4(s string, i int) int {
	n := len(s)
	p := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if p >= n || s[p] != '.' {
				return 0
			}
			p++
		}
		q := p
		v := 0
		for q < n && q-p < 4 && is(s[q], cDigit) {
			v = v*10 + int(s[q]-'0')
			q++
		}
		if q == p || q-p > 3 || v > 255 || (q-p > 1 && s[p] == '0') {
			return 0
		}
		p = q
	}
	if !boundary(s, p) || p+1 < n && s[p] == '.' && is(s[p+1], cDigit) {
		return 0
	}
	return p
}

// ipv6 returns the end of an IPv6 address starting at i, or 0. The run of
// hex digits, colons and dots must hold "::" or seven colons (so that times
// like 12:30:45 and MAC addresses are not addresses) and parse.
func ipv6(s string, i int) int {
	n := len(s)
	e := i
	colons, hex := 0, 0
	double := false
	for e < n && is(s[e], cHexCol) {
		switch s[e] {
		case ':':
			colons++
			if e > i && s[e-1] == ':' {
				double = true
			}
		case '.':
		default:
			hex++
		}
		e++
	}
	for e > i && s[e-1] == '.' {
		e--
	}
	if e > i+1 && s[e-1] == ':' && s[e-2] != ':' {
		e--
		colons--
	}
	if hex < 3 || colons < 2 || (!double && colons != 7) || !boundary(s, e) {
		return 0
	}
	a, err := netip.ParseAddr(s[i:e])
	if err != nil || !a.Is6() {
		return 0
	}
	return e
}

// card returns the end of a payment card number at i, or 0: 13 to 19
// digits, contiguous or in groups of three or more separated by one space or
// hyphen, with an issuer prefix and a valid Luhn check digit.
func card(s string, i int) int {
	n := len(s)
	var d [19]byte
	nd := 0
	p := i
	group := 0
	end := 0
	for p < n {
		c := s[p]
		if is(c, cDigit) {
			if nd == len(d) {
				return 0 // 20 digits or more: not a card number
			}
			d[nd] = c - '0'
			nd++
			group++
			p++
			end = p
			continue
		}
		if (c == ' ' || c == '-') && p+1 < n && is(s[p+1], cDigit) && group >= 3 {
			// A separator only between groups of three or more digits.
			group = 0
			p++
			continue
		}
		break
	}
	if nd < 13 || group < 3 || !boundary(s, end) || end < n && s[end] == '.' && end+1 < n && is(s[end+1], cDigit) {
		return 0
	}
	if !issuer(d[:nd]) || !luhn(d[:nd]) {
		return 0
	}
	return end
}

// issuer reports whether the digits start like a number of a card network
// of that length (Visa, Mastercard, American Express, Discover, JCB, Diners
// Club, UnionPay, Maestro).
func issuer(d []byte) bool {
	n := len(d)
	p2 := int(d[0])*10 + int(d[1])
	p3 := p2*10 + int(d[2])
	p4 := p3*10 + int(d[3])
	switch {
	case d[0] == 4:
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011 || p2 == 65 || p3 >= 644 && p3 <= 649:
		return n >= 16
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16
	case p2 == 36 || p2 == 38 || p3 >= 300 && p3 <= 305:
		return n >= 14
	case p2 == 62:
		return n >= 16
	case p2 == 50 || p2 >= 56 && p2 <= 69:
		return n >= 12
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// phoneIntl returns the end of an international number at the + at i, or 0:
// + then a digit 1-9, then digits in groups separated by one space, hyphen
// or dot or wrapped in parentheses, 8 to 15 digits in all (E.164). A longer
// run returns minus its end: nothing in it is a phone number, so that what
// a first pass leaves, a second pass leaves too.
func phoneIntl(s string, i int) int {
	n := len(s)
	p := i + 1
	if p >= n || s[p] < '1' || s[p] > '9' {
		return 0
	}
	nd := 0
	end := 0
	for p < n {
		c := s[p]
		switch {
		case is(c, cDigit):
			nd++
			p++
			end = p
			continue
		case c == '(':
			q := p + 1
			for q < n && is(s[q], cDigit) {
				q++
			}
			if q == p+1 || q >= n || s[q] != ')' || q-p-1 > 4 {
				break
			}
			nd += q - p - 1
			p = q + 1
			end = p
			if p < n && s[p] == ' ' && p+1 < n && is(s[p+1], cDigit) {
				p++
			}
			continue
		case (c == ' ' || c == '-' || c == '.') && p+1 < n && (is(s[p+1], cDigit) || s[p+1] == '('):
			p++
			continue
		}
		break
	}
	if nd > 15 {
		return -end
	}
	if nd < 8 || !boundary(s, end) {
		return 0
	}
	return end
}

// phoneNANP returns the end of a North American number at i, or 0:
// [1-]NXX-NXX-XXXX with one kind of separator (hyphen, dot or space).
func phoneNANP(s string, i int) int {
	p := i
	if p+1 < len(s) && s[p] == '1' && (s[p+1] == '-' || s[p+1] == ' ' || s[p+1] == '.') {
		p += 2
	}
	if p >= len(s) || s[p] < '2' {
		return 0
	}
	return nanpRest(s, p)
}

// phoneParen returns the end of (NXX) NXX-XXXX at the parenthesis at i, or 0.
func phoneParen(s string, i int) int {
	if i+5 > len(s) || !digits(s, i+1, 3) || s[i+4] != ')' || s[i+1] < '2' {
		return 0
	}
	p := i + 5
	if p < len(s) && s[p] == ' ' {
		p++
	}
	if !digits(s, p, 3) || p+3 >= len(s) {
		return 0
	}
	sep := s[p+3]
	if sep != '-' && sep != '.' && sep != ' ' || !digits(s, p+4, 4) || !boundary(s, p+8) {
		return 0
	}
	return p + 8
}

// nanpRest matches NXX<sep>NXX<sep>XXXX at p.
func nanpRest(s string, p int) int {
	if !digits(s, p, 3) || p+3 >= len(s) {
		return 0
	}
	sep := s[p+3]
	if sep != '-' && sep != '.' && sep != ' ' {
		return 0
	}
	q := p + 4
	if !digits(s, q, 3) || q+3 >= len(s) || s[q+3] != sep || !digits(s, q+4, 4) {
		return 0
	}
	e := q + 8
	if !boundary(s, e) || e+1 < len(s) && s[e] == sep && is(s[e+1], cDigit) {
		return 0
	}
	return e
}

func digits(s string, p, k int) bool {
	if p+k > len(s) {
		return false
	}
	for q := p; q < p+k; q++ {
		if !is(s[q], cDigit) {
			return false
		}
	}
	return true
}

// ibanLengths is the length of an IBAN per country (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
	"MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
	"QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
	"ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// iban returns the end of an IBAN at i, or 0: a country code, two check
// digits and the country's number of letters and digits, contiguous or in
// groups of four separated by single spaces, whose ISO 7064 mod-97 check
// is 1.
func iban(s string, i int) int {
	n := len(s)
	if i+4 > n || !is(s[i+1], cUpper) || !is(s[i+2], cDigit) || !is(s[i+3], cDigit) {
		return 0
	}
	want := ibanLengths[s[i:i+2]]
	if want == 0 {
		return 0
	}
	var b [34]byte
	nb := 0
	p := i
	spaced := i+4 < n && s[i+4] == ' '
	for p < n && nb < want {
		c := s[p]
		if is(c, cUpper|cDigit) {
			b[nb] = c
			nb++
			p++
			continue
		}
		if spaced && c == ' ' && nb%4 == 0 && p+1 < n && is(s[p+1], cUpper|cDigit) {
			p++
			continue
		}
		break
	}
	if nb != want || !boundary(s, p) {
		return 0
	}
	// Move the first four characters to the end, letters become 10..35.
	r := 0
	for k := 0; k < want; k++ {
		c := b[(k+4)%want]
		if c >= 'A' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	if r != 1 {
		return 0
	}
	return p
}

// prefixed matches secrets with a well-known prefix at i. isKey is true
// when the prefix matched; s[a:e] is then the secret, or e is 0 when what
// follows is too short to be one.
func prefixed(s string, i, tokEnd int) (a, e int, isKey bool) {
	rest := s[i:]
	run := func(p, minLen int, m uint16) int {
		q := p
		if m == cTok && p <= tokEnd {
			q = tokEnd // the run of token characters from i, known
		} else {
			for q < len(s) && is(s[q], m) {
				q++
			}
		}
		if q-p < minLen || !boundary(s, q) {
			return 0
		}
		return q
	}
	switch s[i] {
	case 's':
		switch {
		case strings.HasPrefix(rest, "sk-lf-"):
			return i, run(i+6, 8, cTok), true
		case strings.HasPrefix(rest, "sk_live_"), strings.HasPrefix(rest, "sk_test_"):
			return i, run(i+8, 16, cTok), true
		case strings.HasPrefix(rest, "sk-"):
			return i, run(i+3, 20, cTok), true
		}
	case 'p':
		if strings.HasPrefix(rest, "pk-lf-") {
			return i, run(i+6, 8, cTok), true
		}
	case 'r':
		if strings.HasPrefix(rest, "rk_live_") {
			return i, run(i+8, 16, cTok), true
		}
	case 'g':
		if len(rest) > 4 && rest[0] == 'g' && rest[1] == 'h' && rest[3] == '_' && strings.IndexByte("pousr", rest[2]) >= 0 {
			return i, run(i+4, 20, cAlnum), true
		}
		if strings.HasPrefix(rest, "github_pat_") {
			return i, run(i+11, 20, cTok), true
		}
		if strings.HasPrefix(rest, "glpat-") {
			return i, run(i+6, 20, cTok), true
		}
	case 'x':
		if len(rest) > 5 && strings.HasPrefix(rest, "xox") && rest[4] == '-' && strings.IndexByte("abprs", rest[3]) >= 0 {
			return i, run(i+5, 10, cTok), true
		}
	case 'h':
		if strings.HasPrefix(rest, "hf_") {
			return i, run(i+3, 30, cAlnum), true
		}
	case 'A':
		if strings.HasPrefix(rest, "AKIA") || strings.HasPrefix(rest, "ASIA") {
			if digitsOrUpper(s, i+4, 16) && boundary(s, i+20) {
				return i, i + 20, true
			}
			return i, 0, true
		}
		if strings.HasPrefix(rest, "AIza") {
			return i, run(i+4, 35, cTok), true
		}
	case 'e':
		if strings.HasPrefix(rest, "eyJ") {
			return i, jwt(s, i), true
		}
	case 'B', 'b':
		if strings.HasPrefix(rest, "Bearer ") || strings.HasPrefix(rest, "bearer ") {
			return i + 7, bearer(s, i+7), true
		}
	}
	return i, 0, false
}

func digitsOrUpper(s string, p, k int) bool {
	if p+k > len(s) {
		return false
	}
	for q := p; q < p+k; q++ {
		if !is(s[q], cUpper|cDigit) {
			return false
		}
	}
	return true
}

// jwt returns the end of a JSON Web Token at i (eyJ…, three base64url
// segments separated by dots, the signature possibly empty), or 0.
func jwt(s string, i int) int {
	p := i
	for seg := 0; seg < 3; seg++ {
		if seg > 0 {
			if p >= len(s) || s[p] != '.' {
				return 0
			}
			p++
		}
		q := p
		for q < len(s) && is(s[q], cTok) {
			q++
		}
		if q == p && seg < 2 {
			return 0
		}
		p = q
	}
	if p-i < 20 || !boundary(s, p) {
		return 0
	}
	return p
}

// bearer returns the end of the token after "Bearer " at p, or 0: 12 or
// more characters of the RFC 6750 token alphabet with at least one digit.
// The word Bearer itself stays.
func bearer(s string, p int) int {
	q := p
	digit := false
	for q < len(s) {
		c := s[q]
		if is(c, cAlnum) || strings.IndexByte("-._~+/=", c) >= 0 {
			digit = digit || is(c, cDigit)
			q++
			continue
		}
		break
	}
	for q > p && s[q-1] == '.' {
		q--
	}
	if q-p < 12 || !digit {
		return 0
	}
	return q
}

// minEntropyLen is the shortest run of token characters the high-entropy
// detector looks at; maxEntropyLen the longest (longer runs are data, such
// as base64 images, not keys).
const (
	minEntropyLen = 24
	maxEntropyLen = 512
)

// highEntropy reports whether a run of token characters looks like a
// random key: upper and lower case letters and at least two digits, and a
// Shannon entropy of at least 0.8·log2(min(len, 64)) bits per character
// (random base62 of 24 characters has about 4.3, camelCase identifiers
// and words well below it).
func highEntropy(t string) bool {
	n := len(t)
	if n < minEntropyLen || n > maxEntropyLen {
		return false
	}
	var cnt [128]uint16
	var up, lo, dg int
	for k := 0; k < n; k++ {
		c := t[k]
		cnt[c&127]++
		switch cl := class[c]; {
		case cl&cUpper != 0:
			up++
		case cl&cLower != 0:
			lo++
		case cl&cDigit != 0:
			dg++
		}
	}
	if up == 0 || lo == 0 || dg < 2 {
		return false
	}
	h := 0.0
	fn := float64(n)
	for _, c := range cnt {
		if c > 0 {
			p := float64(c) / fn
			h -= p * math.Log2(p)
		}
	}
	return h >= 0.8*math.Log2(float64(min(n, 64)))
}
