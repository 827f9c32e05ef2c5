package langfuse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzNow = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 1.5 ", 1500 * time.Millisecond, true},
		{fuzzNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{fuzzNow.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"-3", 0, false},
		{"NaN", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, fuzzNow)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseReset(t *testing.T) {
	at := fuzzNow.Add(42 * time.Second)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{at.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Coordinated Universal Time)", at, true},
		{at.In(time.FixedZone("CEST", 7200)).Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Central European Summer Time)", at, true},
		{at.Format(http.TimeFormat), at, true},
		{at.Format(time.RFC3339), at, true},
		{fmt.Sprint(at.Unix()), at, true},
		{fmt.Sprint(at.UnixMilli()), at, true},
		{"42", at, true},
		{"later", time.Time{}, false},
		{"1e300", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseReset(tt.in, fuzzNow)
		if !got.Equal(tt.want) || ok != tt.ok {
			t.Errorf("parseReset(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "1.5", "-1", "NaN", "Inf", "1e400", "Tue, 03 Mar 2026 12:00:42 GMT", "Tuesday, 03-Mar-26 12:00:42 GMT", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, fuzzNow)
		if d < 0 {
			t.Errorf("parseRetryAfter(%q) = %v: negative", s, d)
		}
		if !ok && d != 0 {
			t.Errorf("parseRetryAfter(%q) = %v without ok", s, d)
		}
	})
}

func FuzzParseReset(f *testing.F) {
	for _, s := range []string{"Tue Mar 03 2026 12:00:42 GMT+0000 (Coordinated Universal Time)", "1772539242", "1772539242000",
		"30", "2026-03-03T12:00:42Z", "Tue, 03 Mar 2026 12:00:42 GMT", "x (y)", " (", "-5", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		reset, ok := parseReset(s, fuzzNow)
		if !ok && !reset.IsZero() {
			t.Errorf("parseReset(%q) = %v without ok", s, reset)
		}
	})
}

func FuzzDecodeObservationsCursor(f *testing.F) {
	f.Add(encodeCursor(fuzzNow, "trace", "span"))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"lastStartTimeTo":"2026-03-01T00:00:00.123456Z","lastTraceId":"t","lastId":"s"}`)))
	f.Add("")
	f.Add("e30=")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeObservationsCursor(s)
		if err != nil {
			return
		}
		if c.LastStartTimeTo.IsZero() {
			t.Errorf("%q decoded without a time", s)
		}
		// What decodes re-encodes to an equal cursor.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeObservationsCursor(base64.StdEncoding.EncodeToString(b))
		if err != nil || !again.LastStartTimeTo.Equal(c.LastStartTimeTo) || again.LastID != c.LastID || again.LastTraceID != c.LastTraceID {
			t.Errorf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}

// FuzzDecodeObject checks that decoding an object loses no member: every member is a declared
// field or lands in Extra with its bytes.
func FuzzDecodeObject(f *testing.F) {
	f.Add(observationJSON)
	f.Add(`{"id":"x","extra":1,"Id":"y"}`)
	f.Add(`{"input":null,"zzz":[1,{"a":"b"}]}`)
	f.Add(`null`)
	f.Add("{\"\x80\":\"\"}") // invalid UTF-8 in a name: encoding/json makes it U+FFFD
	f.Fuzz(func(t *testing.T, s string) {
		var o ObservationV2
		if err := json.Unmarshal([]byte(s), &o); err != nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &members); err != nil {
			return
		}
		known := jsonFields(reflect.TypeFor[ObservationV2]())
		for k, v := range members {
			if known[k] {
				continue
			}
			got, ok := o.Extra[k]
			if !ok || string(got) != string(v) {
				t.Errorf("member %q = %s lost (extra %s)", k, v, got)
			}
		}
		for k := range o.Extra {
			if known[k] {
				t.Errorf("declared member %q also in Extra", k)
			}
		}
	})
}

func FuzzScoreValue(f *testing.F) {
	for _, s := range []string{"1", "-0.5e3", "true", "false", `"x"`, "null", "{}", "[]", `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v ScoreValue
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return
		}
		set := 0
		for _, p := range []bool{v.Number != nil, v.Bool != nil, v.String != nil} {
			if p {
				set++
			}
		}
		if set > 1 {
			t.Errorf("%q set %d variants", s, set)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %+v: %v", v, err)
		}
		var again ScoreValue
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s does not decode again: %v", out, err)
		}
		if again2, _ := json.Marshal(again); string(again2) != string(out) {
			t.Errorf("%q: %s then %s", s, out, again2)
		}
	})
}

// FuzzObjectMembers checks the member scanner against encoding/json on valid objects and
// that it survives anything else.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{observationJSON, `{}`, `{"a\"b":1,"c":[{"d":"]}"}],"e":true}`, `{"a":`, `{"a":,}`, `[1]`, `{"\u00e9":null}`, `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := map[string]string{}
		objectMembers([]byte(s), func(name []byte, escaped bool, value []byte) {
			key := string(name)
			if escaped || !utf8.Valid(name) {
				if err := json.Unmarshal([]byte(`"`+key+`"`), &key); err != nil {
					return
				}
			}
			got[key] = string(value)
		})
		var want map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &want) != nil || want == nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, want %d", s, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Errorf("%q: member %q = %q, want %q", s, k, got[k], v)
			}
		}
	})
}
