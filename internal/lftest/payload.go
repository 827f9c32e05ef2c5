package lftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
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

func mustJSON(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		panic("lftest: " + err.Error())
	}
	return string(b)
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
func newRand(parts ...uint64) *rand.Rand {
	h := uint64(0x5eed)
	for _, p := range parts {
		h = mix64(h ^ p)
	}
	return rand.New(rand.NewPCG(h, mix64(h)))
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
func filler(r *rand.Rand, n int) string {
	var b strings.Builder
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

// genPayloadText builds the JSON text of one generated payload. media, when
// set, is a media reference token embedded in the payload.
func genPayloadText(seed uint64, k, j int, field int, typ string, size int, media string) string {
	r := newRand(seed, uint64(k), uint64(j), uint64(field), 0x9a)
	switch field {
	case fieldMetadata, fieldTraceMeta:
		return genMetadata(r, field == fieldTraceMeta, k, j)
	case fieldInput:
		return mustJSON(genInput(r, typ, size, media))
	default:
		return mustJSON(genOutput(r, typ, size))
	}
}

func genInput(r *rand.Rand, typ string, size int, media string) any {
	text := filler(r, max(16, size-120))
	switch typ {
	case TypeGeneration:
		user := []any{map[string]any{"type": "text", "text": text}}
		if media != "" {
			user = append(user, map[string]any{"type": "image_url", "image_url": map[string]any{"url": media}})
		}
		return map[string]any{
			"messages": []any{
				map[string]any{"role": "system", "content": "You are a helpful support agent. 丁寧に答えてください。"},
				map[string]any{"role": "user", "content": user},
			},
			"tools": []any{map[string]any{"type": "function", "function": map[string]any{
				"name": "lookup_order", "parameters": map[string]any{"type": "object", "properties": map[string]any{"orderId": map[string]any{"type": "string"}}}}}},
		}
	case TypeTool:
		return map[string]any{"name": "lookup_order", "arguments": map[string]any{"orderId": fmt.Sprintf("ORD-%06d", r.IntN(1000000)), "note": text}}
	case TypeRetriever:
		return map[string]any{"query": text, "filters": map[string]any{"lang": "ja", "limit": 5, "nested": map[string]any{"a": map[string]any{"b": []any{1, 2, map[string]any{"c": nil}}}}}}
	case TypeEmbedding:
		return []any{text}
	default:
		in := map[string]any{"step": r.IntN(10), "payload": text, "state": map[string]any{"nested": map[string]any{"deeper": map[string]any{"level": 4, "items": []any{"α", "β", "γ"}, "empty": "", "none": nil}}}}
		if media != "" {
			in["attachment"] = media
		}
		return in
	}
}

func genOutput(r *rand.Rand, typ string, size int) any {
	text := filler(r, max(16, size-100))
	switch typ {
	case TypeGeneration:
		out := map[string]any{"role": "assistant", "content": text}
		if r.IntN(3) == 0 {
			out["tool_calls"] = []any{map[string]any{"id": fmt.Sprintf("call_%d", r.IntN(1e6)), "type": "function",
				"function": map[string]any{"name": "lookup_order", "arguments": `{"orderId":"ORD-000042"}`}}}
		}
		return out
	case TypeRetriever:
		docs := []any{}
		for i := 0; i < 3; i++ {
			docs = append(docs, map[string]any{"id": fmt.Sprintf("doc-%d", r.IntN(1000)), "score": float64(r.IntN(1000)) / 1000,
				"text": cutBytes(text, len(text)/3), "metadata": map[string]any{"source": "s3://kb/faq.md", "page": r.IntN(40)}})
		}
		return map[string]any{"documents": docs}
	case TypeEmbedding:
		n := max(8, size/12)
		vec := make([]float64, n)
		for i := range vec {
			vec[i] = float64(r.IntN(20000)-10000) / 10000
		}
		return map[string]any{"embedding": vec}
	case TypeGuardrail:
		return map[string]any{"passed": r.IntN(4) != 0, "reason": text}
	case TypeEvaluator:
		return map[string]any{"score": float64(r.IntN(100)) / 100, "reasoning": text}
	default:
		return map[string]any{"result": text, "ok": true}
	}
}

// genMetadata builds a metadata object with a value longer than the 200
// characters that v2 observations truncate to, nested values, numbers,
// booleans, null and non-ASCII text.
func genMetadata(r *rand.Rand, trace bool, k, j int) string {
	m := map[string]any{
		"request_id": fmt.Sprintf("req-%08x", r.Uint32()),
		"customer":   map[string]any{"tier": []string{"free", "gold", "エンタープライズ"}[r.IntN(3)], "region": "ap-northeast-1"},
		"note_long":  filler(r, 700+r.IntN(300)), // over 200 characters even if all Japanese
		"ja":         "日本語のメタデータ ✨",
		"attempt":    1 + r.IntN(3),
		"cached":     r.IntN(2) == 0,
		"nothing":    nil,
	}
	if trace {
		m["scope"] = "trace"
		m["k"] = k
	} else {
		m["position"] = j
	}
	return mustJSON(m)
}
