package lsfixture

import (
	"fmt"
	"time"
)

// Layout places an export's files the way a bulk export destination does:
//
//	<prefix>/export_id=<id>/tenant_id=<id>/session_id=<id>/runs/year=<y>/month=<m>/day=<d>/<file>.parquet
//
// or, in the spelling of the BigQuery guide, with resource=runs instead of
// runs.
type Layout struct {
	// Prefix is the destination's key prefix; empty for none.
	Prefix    string
	ExportID  string
	TenantID  string
	SessionID string
	// Resource spells the runs segment resource=runs.
	Resource bool
	// Padded zero-pads month and day (month=03); otherwise month=3.
	Padded bool
}

// Dir is the directory of day's files.
func (l Layout) Dir(day time.Time) string {
	day = day.UTC()
	runs := "runs"
	if l.Resource {
		runs = "resource=runs"
	}
	md := "month=%d/day=%d"
	if l.Padded {
		md = "month=%02d/day=%02d"
	}
	d := fmt.Sprintf("export_id=%s/tenant_id=%s/session_id=%s/%s/year=%d/"+md,
		l.ExportID, l.TenantID, l.SessionID, runs, day.Year(), int(day.Month()), day.Day())
	if l.Prefix != "" {
		d = l.Prefix + "/" + d
	}
	return d
}

// Key is the key of a day's file number n.
func (l Layout) Key(day time.Time, n int) string {
	return fmt.Sprintf("%s/part-%05d.parquet", l.Dir(day), n)
}
