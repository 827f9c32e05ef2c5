package langfuse

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// slowPage decodes a page the way the client did before the fast path.
func slowPage(data []byte) (cursorResponse[ObservationV2], error) {
	var r cursorResponse[ObservationV2]
	err := json.Unmarshal(data, &r)
	return r, err
}

// checkFastPage asserts that the fast path, when it takes data, decodes it
// exactly as encoding/json does, and reports whether it took it.
func checkFastPage(t *testing.T, data []byte) bool {
	t.Helper()
	var fast cursorResponse[ObservationV2]
	took := fast.decodeFast(data)
	slow, err := slowPage(data)
	if !took {
		if !reflect.DeepEqual(fast, cursorResponse[ObservationV2]{}) {
			t.Errorf("fast path gave up but left %+v", fast)
		}
		return false
	}
	if err != nil {
		t.Fatalf("fast path took %q, encoding/json refuses it: %v", data, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("fast and slow decodes differ for %q:\nfast %+v\nslow %+v", data, fast, slow)
	}
	return true
}

func TestFastPageTakesRealisticPages(t *testing.T) {
	obs := strings.ReplaceAll(observationJSON, "\n", "")
	for _, page := range []string{
		`{"data":[` + observationJSON + `],"meta":{"cursor":"abc"}}`,
		`{"data":[` + obs + `,` + obs + `],"meta":{}}`,
		`{"meta":{"cursor":null},"data":[]}`,
		` {"data":[{"id":"x","tags":["a","b"],"usageDetails":{},"costDetails":null,"promptVersion":null}],"meta":{"cursor":"c","other":[1]}, "x":{"y":"\u00e9"}} `,
		`{"data":[{"id":"日本語 ✨","input":"\"{\\\"a\\\":1}\"","metadata":{"k":"\ud83d\ude00"},"newField":[{"\u0061":1}]}]}`,
	} {
		if !checkFastPage(t, []byte(page)) {
			t.Errorf("fast path refused %s", page)
		}
	}
}

func TestFastPageGivesUpOnUnusualInput(t *testing.T) {
	for _, page := range []string{
		`{"data":[{"ID":"x"}]}`,                     // case-folded name: encoding/json takes it for id
		`{"data":[{"id":"x","id":"y"}]}`,            // duplicate member
		`{"data":[{"id":"a\nb"}]}`,                  // control character
		`{"data":[{"id":"a\u0062"}]}`,               // escaped string into a string field
		`{"data":[{"promptVersion":1.5}]}`,          // type error
		`{"data":[{"usageDetails":{"input":1e3}}]}`, // not an int64
		`{"data":[{"startTime":"yesterday"}]}`,      // not a time
		`{"data":[{"id":"x"}],"meta":{"cursor":1}}`,
		`{"data":[{"id":"x"}]`, // truncated
		`{"data":[{"id":"x"}]} x`,
		`{"Data":[]}`,
		`{"data":null}`,
		`{"data":[null]}`,
		"{\"data\":[{\"id\":\"\x80\"}]}", // invalid UTF-8: encoding/json makes it U+FFFD
		`{"data":[{"a\u0062":1}]}`,       // escaped unknown name
	} {
		if checkFastPage(t, []byte(page)) {
			t.Errorf("fast path took %s", page)
		}
	}
}

// TestFastPageDeclaresEveryField keeps setField in step with the struct:
// every declared member is set by it, so none ends up in Extra.
func TestFastPageDeclaresEveryField(t *testing.T) {
	var x ObservationV2
	bits := map[uint64]string{}
	for name := range jsonFields(reflect.TypeFor[ObservationV2]()) {
		bit, _ := x.setField([]byte(name), []byte("null"))
		if bit == 0 {
			t.Errorf("member %q is not decoded by the fast path", name)
		}
		if other, dup := bits[bit]; dup {
			t.Errorf("members %q and %q share a bit", name, other)
		}
		bits[bit] = name
	}
}

func FuzzFastPage(f *testing.F) {
	f.Add(`{"data":[` + observationJSON + `],"meta":{"cursor":"abc"}}`)
	f.Add(`{"data":[{"id":"x","extra":1,"tags":[]}],"meta":{}}`)
	f.Add(`{"data":[{"input":null,"zzz":[1,{"a":"b"}],"usageDetails":{"a":-0}}]}`)
	f.Add(`{"data":[{"startTime":"2026-03-01T10:00:00.123456+01:00","totalCost":-1.5e-3}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		checkFastPage(t, []byte(s))
	})
}

func BenchmarkDecodePageFast(b *testing.B) {
	page := observationsPage(b)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		var r cursorResponse[ObservationV2]
		if !r.decodeFast(page) {
			b.Fatal("fast path refused the page")
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{``, ` 1 `, `{"a":[1,2,{"b":null}]}`, `"\ud800"`, "\"\xff\"", `[1,]`, `01`, `-`, `1e`, `{"a" 1}`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600), `tru`, `"a\u12"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid %v", s, got, want)
		}
	})
}
