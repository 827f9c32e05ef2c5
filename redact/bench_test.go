package redact

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/schema"
)

// benchObservations returns n realistic observations of about 2 KB of
// input, output and metadata: chat messages with prose, newlines, code,
// URLs, numbers, ids and versions; one in four holds personal data or a
// key somewhere.
func benchObservations(n int) ([]schema.Observation, int64) {
	r := rand.New(rand.NewPCG(7, 11))
	words := strings.Fields(`the a to of and in is it you that for on with as this be are was at by or from your have not can
		will an all please answer question model token context retrieval document customer order invoice support request
		function call result error value list user assistant system summary Paris London Berlin Tuesday March report`)
	sentence := func(k int) string {
		var b strings.Builder
		for i := 0; i < k; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			w := words[r.IntN(len(words))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			switch r.IntN(20) {
			case 0:
				fmt.Fprintf(&b, " %d", r.IntN(100000))
			case 1:
				fmt.Fprintf(&b, " %d.%d%%", r.IntN(100), r.IntN(10))
			case 2:
				b.WriteString(",")
			}
		}
		b.WriteString(". ")
		return b.String()
	}
	pii := []string{"contact jane.doe@example.com", "call +1 415-555-0132", "card 4111 1111 1111 1111",
		"IBAN DE89 3704 0044 0532 0130 00", "from 192.168.10.20", "key sk-proj-Xk9fQ2mP7vL3sR8tW1yB4nC6hJ0dG5aZ"}
	out := make([]schema.Observation, n)
	var total int64
	for i := range out {
		var user strings.Builder
		for user.Len() < 900 {
			user.WriteString(sentence(8 + r.IntN(12)))
			if r.IntN(4) == 0 {
				user.WriteString("\n\n")
			}
		}
		if i%4 == 0 {
			user.WriteString(pii[r.IntN(len(pii))])
		}
		user.WriteString("\nSee https://docs.example.com/api/v2/orders?id=" + fmt.Sprint(r.IntN(1e6)) + " and ```python\nprint(x[0:3])\n```")
		var answer strings.Builder
		for answer.Len() < 650 {
			answer.WriteString(sentence(10 + r.IntN(10)))
		}
		in, _ := json.Marshal(map[string]any{"messages": []map[string]string{
			{"role": "system", "content": "You are a helpful assistant. Answer briefly."},
			{"role": "user", "content": user.String()},
		}, "temperature": 0.2})
		outp, _ := json.Marshal(map[string]any{"role": "assistant", "content": answer.String()})
		meta, _ := json.Marshal(map[string]any{"request_id": fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48)),
			"sdk": "python", "sdk_version": "3.2.1", "tags": []string{"prod", "eu-west-1"}, "ls_model_name": "gpt-4o-mini-2024-07-18"})
		o := schema.Observation{ID: fmt.Sprintf("%016x", r.Uint64()), TraceID: ptr(fmt.Sprintf("%032x", r.Uint64())), Type: "GENERATION",
			Input: ptr(string(in)), Output: ptr(string(outp)), Metadata: ptr(string(meta)), UserID: ptr(fmt.Sprintf("user-%d", r.IntN(50))),
			SessionID: ptr(fmt.Sprintf("session-%d", r.IntN(100)))}
		out[i] = o
		total += int64(len(in) + len(outp) + len(meta))
	}
	return out, total
}

func benchRedactor(b *testing.B, policy string) {
	r := mustRedactor(b, policy)
	obs, bytes := benchObservations(256)
	b.SetBytes(bytes / int64(len(obs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Row(schema.Observations, &obs[i%len(obs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
}

// BenchmarkRedactObservation: the default detectors (every detector over
// input, output and metadata) on 2 KB observations.
func BenchmarkRedactObservation(b *testing.B) { benchRedactor(b, "version: 1\n") }

// BenchmarkRedactObservationRules adds hashed ids and path rules.
func BenchmarkRedactObservationRules(b *testing.B) {
	benchRedactor(b, `
version: 1
hmac_key_env: LAKEFUSE_REDACT_KEY
hash_ids: [trace, observation, user, session]
tables:
  observations:
    input: {drop: ["$.messages[0]"], mask: [temperature]}
    metadata: {hash: [request_id]}
`)
}

func TestBenchPayloadsAreRedacted(t *testing.T) {
	r := mustRedactor(t, "version: 1\n")
	obs, bytes := benchObservations(64)
	if avg := bytes / 64; avg < 1800 || avg > 2600 {
		t.Fatalf("payload %d bytes, want about 2 KB", avg)
	}
	changed := 0
	for i := range obs {
		out, _ := r.Row(schema.Observations, &obs[i])
		if out != any(&obs[i]) {
			changed++
		}
	}
	// One in four carries personal data; nothing else may be touched.
	if changed != 16 {
		t.Fatalf("%d of 64 rows changed, want 16", changed)
	}
}
