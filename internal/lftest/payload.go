package lftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// marshalJSON encodes like JavaScript's JSON.stringify: no HTML escaping.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// mix64 is splitmix64's finaliser: a cheap, well-distributed hash of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRand returns a generator seeded from the parts, so that every row and
// payload has its own reproducible stream whatever order rows are made in.
func newRand(parts ...uint64) *prng {
	h := uint64(0x5eed)
	for _, p := range parts {
		h = mix64(h ^ p)
	}
	pcg := rand.NewPCG(h, mix64(h))
	return &prng{Rand: rand.New(pcg), pcg: pcg}
}

// prng is a rand.Rand whose IntN, most of what the generator draws (three
// per word of filler text, a lazy project's every read), calls its PCG
// directly instead of through the Source interface. It draws the same
// numbers as rand.Rand.IntN: the same algorithm (math/rand/v2's uint64n;
// TestPRNGMatchesRand), on the same source the other methods use.
type prng struct {
	*rand.Rand
	pcg *rand.PCG
}

// IntN returns a number in [0, n), as rand.Rand.IntN does.
func (r *prng) IntN(n int) int {
	if n <= 0 {
		panic("invalid argument to IntN")
	}
	u := uint64(n)
	if u&(u-1) == 0 { // a power of two: mask
		return int(r.pcg.Uint64() & (u - 1))
	}
	// Lemire's multiply-and-reject, as rand.Rand.uint64n.
	hi, lo := bits.Mul64(r.pcg.Uint64(), u)
	if lo < u {
		thresh := -u % u
		for lo < thresh {
			hi, lo = bits.Mul64(r.pcg.Uint64(), u)
		}
	}
	return int(hi)
}

var (
	wordsEN = strings.Fields(`the order shipment customer invoice refund policy answer question context document
		retrieval embedding vector latency token budget model prompt tool call agent plan step result error retry
		cache summary report billing account region cluster deploy rollback metric trace span session user`)
	phrasesJA = []string{"こんにちは", "注文の状況を教えてください", "返金ポリシーについて", "ありがとうございます",
		"少々お待ちください", "東京都渋谷区", "検索結果は以下の通りです", "申し訳ありませんが", "確認しました", "日本語のテキスト"}
	emoji = []string{"😀", "🚀", "📦", "✅", "❌", "🤖", "🎌", "👍", "🔥", "🌏", "🧪", "💬"}
)

// filler returns about n bytes of mixed English, Japanese and emoji text.
func filler(r *prng, n int) string {
	var b strings.Builder
	b.Grow(n + 32) // a word or phrase past n at most
	for b.Len() < n {
		switch r.IntN(10) {
		case 0, 1:
			b.WriteString(phrasesJA[r.IntN(len(phrasesJA))])
		case 2:
			b.WriteString(emoji[r.IntN(len(emoji))])
		default:
			b.WriteString(wordsEN[r.IntN(len(wordsEN))])
		}
		if r.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// fillerRunes returns filler text of at least n characters.
func fillerRunes(r *prng, n int) string {
	s := filler(r, n)
	c := utf8.RuneCountInString(s)
	if c >= n {
		return s
	}
	// Count each piece once (counts add up for valid UTF-8) and build the
	// text once, rather than recount and copy it for every piece.
	var b strings.Builder
	b.WriteString(s)
	for c < n {
		t := filler(r, n-c)
		b.WriteString(t)
		c += utf8.RuneCountInString(t)
	}
	return b.String()
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutBytes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// payload fields of the generator.
const (
	fieldInput     = 1
	fieldOutput    = 2
	fieldMetadata  = 3
	fieldTraceMeta = 4
	fieldParams    = 5
)

// jraw is JSON text built by obj and arr.
type jraw []byte

// obj writes a JSON object from key, value pairs in order; values are
// string, int, float64, bool, nil, []float64 or jraw. It avoids maps and
// reflection because a large lazy project builds payloads for every row it
// serves.
func obj(kv ...any) jraw {
	b := append(make([]byte, 0, sizeHint(kv)), '{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, kv[i].(string))
		b = append(b, ':')
		b = appendJValue(b, kv[i+1])
	}
	return append(b, '}')
}

func arr(vs ...any) jraw {
	b := append(make([]byte, 0, sizeHint(vs)), '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJValue(b, v)
	}
	return append(b, ']')
}

// sizeHint is about the encoded size of the values vs (keys included), so
// that obj and arr allocate once: a payload's text is kilobytes and would
// otherwise be copied through every doubling of the buffer.
func sizeHint(vs []any) int {
	n := 16
	for _, v := range vs {
		switch x := v.(type) {
		case string:
			n += len(x) + len(x)/16 + 3 // quotes, a separator, some escapes
		case jraw:
			n += len(x) + 1
		case []float64:
			n += len(x) * 8
		default:
			n += 8
		}
	}
	return n
}

func appendJValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case jraw:
		return append(b, x...)
	case []float64:
		b = append(b, '[')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, f, 'f', -1, 64)
		}
		return append(b, ']')
	}
	panic(fmt.Sprintf("lftest: obj value of type %T", v))
}

// appendJSONString quotes s as JSON.stringify does (UTF-8 kept as is).
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		// Most payload bytes need no escape: copy them in runs, found eight
		// bytes at a time.
		j := jsonx.SkipUnescaped(s, i)
		for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// genPayloadText builds the JSON text of one generated payload. media, when
// set, is a media reference token embedded in the payload.
func genPayloadText(seed uint64, k, j int, field int, typ string, size int, media string) string {
	r := newRand(seed, uint64(k), uint64(j), uint64(field), 0x9a)
	switch field {
	case fieldMetadata, fieldTraceMeta:
		return genMetadata(r, field == fieldTraceMeta, k, j)
	case fieldInput:
		return jraw2string(genInput(r, typ, size, media))
	default:
		return jraw2string(genOutput(r, typ, size))
	}
}

// jraw2string returns the text of b without copying it. Only for a jraw
// that nothing else holds (as obj and arr return it): the string must never
// see its bytes change.
func jraw2string(b jraw) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func genInput(r *prng, typ string, size int, media string) jraw {
	text := filler(r, max(16, size-120))
	switch typ {
	case TypeGeneration:
		user := []any{obj("type", "text", "text", text)}
		if media != "" {
			user = append(user, obj("type", "image_url", "image_url", obj("url", media)))
		}
		return obj(
			"messages", arr(
				obj("role", "system", "content", "You are a helpful support agent. 丁寧に答えてください。"),
				obj("role", "user", "content", arr(user...))),
			"tools", arr(obj("type", "function", "function", obj("name", "lookup_order",
				"parameters", obj("type", "object", "properties", obj("orderId", obj("type", "string")))))))
	case TypeTool:
		return obj("name", "lookup_order", "arguments", obj("orderId", fmt.Sprintf("ORD-%06d", r.IntN(1000000)), "note", text))
	case TypeRetriever:
		return obj("query", text, "filters", obj("lang", "ja", "limit", 5, "nested", obj("a", obj("b", arr(1, 2, obj("c", nil))))))
	case TypeEmbedding:
		return arr(text)
	default:
		state := obj("nested", obj("deeper", obj("level", 4, "items", arr("α", "β", "γ"), "empty", "", "none", nil)))
		if media != "" {
			return obj("step", r.IntN(10), "payload", text, "state", state, "attachment", media)
		}
		return obj("step", r.IntN(10), "payload", text, "state", state)
	}
}

func genOutput(r *prng, typ string, size int) jraw {
	text := filler(r, max(16, size-100))
	switch typ {
	case TypeGeneration:
		if r.IntN(3) == 0 {
			return obj("role", "assistant", "content", text, "tool_calls", arr(obj("id", fmt.Sprintf("call_%d", r.IntN(1e6)), "type", "function",
				"function", obj("name", "lookup_order", "arguments", `{"orderId":"ORD-000042"}`))))
		}
		return obj("role", "assistant", "content", text)
	case TypeRetriever:
		docs := make([]any, 0, 3)
		for i := 0; i < 3; i++ {
			docs = append(docs, obj("id", fmt.Sprintf("doc-%d", r.IntN(1000)), "score", float64(r.IntN(1000))/1000,
				"text", cutBytes(text, len(text)/3), "metadata", obj("source", "s3://kb/faq.md", "page", r.IntN(40))))
		}
		return obj("documents", arr(docs...))
	case TypeEmbedding:
		n := max(8, size/12)
		vec := make([]float64, n)
		for i := range vec {
			vec[i] = float64(r.IntN(20000)-10000) / 10000
		}
		return obj("embedding", vec)
	case TypeGuardrail:
		return obj("passed", r.IntN(4) != 0, "reason", text)
	case TypeEvaluator:
		return obj("score", float64(r.IntN(100))/100, "reasoning", text)
	default:
		return obj("result", text, "ok", true)
	}
}

// genMetadata builds a metadata object with a value longer than the 200
// characters that v2 observations truncate to, nested values, numbers,
// booleans, null and non-ASCII text.
func genMetadata(r *prng, trace bool, k, j int) string {
	reqID := fmt.Sprintf("req-%08x", r.Uint32())
	customer := obj("tier", []string{"free", "gold", "エンタープライズ"}[r.IntN(3)], "region", "ap-northeast-1")
	long := fillerRunes(r, 220+r.IntN(80)) // over the 200 characters v2 truncates to
	attempt, cached := 1+r.IntN(3), r.IntN(2) == 0
	if trace {
		return jraw2string(obj("request_id", reqID, "customer", customer, "note_long", long, "ja", "日本語のメタデータ ✨",
			"attempt", attempt, "cached", cached, "nothing", nil, "scope", "trace", "k", k))
	}
	if (k+j)%9 == 4 {
		// Tool definitions in metadata, as some integrations log them:
		// ingestion moves them into the input (reshape.go).
		return jraw2string(obj("request_id", reqID, "customer", customer, "note_long", long, "ja", "日本語のメタデータ ✨",
			"attempt", attempt, "cached", cached, "nothing", nil, "position", j,
			"tools", arr(obj("type", "function", "function", obj("name", "lookup_order", "description", "注文を検索")))))
	}
	return jraw2string(obj("request_id", reqID, "customer", customer, "note_long", long, "ja", "日本語のメタデータ ✨",
		"attempt", attempt, "cached", cached, "nothing", nil, "position", j))
}
