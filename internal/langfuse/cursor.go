package langfuse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ObservationsCursor is the position a v2 observations cursor encodes. The listing runs from
// the newest start time down, so LastStartTimeTo tells how far into the time window a listing
// has come: a progress estimate for a listing without a total.
type ObservationsCursor struct {
	LastStartTimeTo time.Time `json:"lastStartTimeTo"`
	LastTraceID     string    `json:"lastTraceId"`
	LastID          string    `json:"lastId"`
}

// DecodeObservationsCursor reads a cursor of GET /api/public/v2/observations: base64 (standard
// or URL alphabet, padded or not) of a JSON object. Cursors are opaque to the API; this is for
// progress only, never needed to page.
func DecodeObservationsCursor(s string) (ObservationsCursor, error) {
	var c ObservationsCursor
	raw, err := decodeBase64(s)
	if err != nil {
		return c, fmt.Errorf("observations cursor: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("observations cursor: %w", err)
	}
	if c.LastStartTimeTo.IsZero() {
		return c, fmt.Errorf("observations cursor: no lastStartTimeTo")
	}
	return c, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
