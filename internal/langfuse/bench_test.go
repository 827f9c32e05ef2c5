package langfuse

import (
	"encoding/json"
	"strings"
	"testing"
)

// observationsPage is a page of 1000 observations with 4 KB of input each, as v2 returns them.
func observationsPage(b *testing.B) []byte {
	var o map[string]any
	if err := json.Unmarshal([]byte(observationJSON), &o); err != nil {
		b.Fatal(err)
	}
	o["input"] = strings.Repeat(`{"role":"user","content":"lorem ipsum"},`, 100)
	data := make([]any, 1000)
	for i := range data {
		data[i] = o
	}
	page, err := json.Marshal(map[string]any{"data": data, "meta": map[string]any{"cursor": "abc"}})
	if err != nil {
		b.Fatal(err)
	}
	return page
}

// BenchmarkDecodePage measures a page decoded into ObservationV2, which keeps unknown members.
func BenchmarkDecodePage(b *testing.B) {
	page := observationsPage(b)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		var r cursorResponse[ObservationV2]
		if err := json.Unmarshal(page, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePagePlain is the baseline: the same struct without the unknown-member pass.
func BenchmarkDecodePagePlain(b *testing.B) {
	type plain ObservationV2
	page := observationsPage(b)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		var r cursorResponse[plain]
		if err := json.Unmarshal(page, &r); err != nil {
			b.Fatal(err)
		}
	}
}
