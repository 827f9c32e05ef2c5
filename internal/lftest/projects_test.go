package lftest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// GET /api/public/projects leaves retentionDays out when the project keeps
// data forever (null or 0), as web/src/pages/api/public/projects/index.ts does.
func TestProjectsRetentionDays(t *testing.T) {
	for _, tc := range []struct {
		days    *int
		present bool
	}{{nil, false}, {ptr(0), false}, {ptr(7), true}} {
		s := lftest.New(lftest.Options{Mode: lftest.V4})
		p := lftest.NewProject("p-ret", "ret")
		p.RetentionDays = tc.days
		_, pk, sk := s.AddGeneratedProject(p)
		req := httptest.NewRequest(http.MethodGet, "/api/public/projects", nil)
		req.SetBasicAuth(pk, sk)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var body struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Data) != 1 {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		v, ok := body.Data[0]["retentionDays"]
		if ok != tc.present || (ok && v != float64(*tc.days)) {
			t.Errorf("days %v: retentionDays present=%v value=%v", tc.days, ok, v)
		}
	}
}

func ptr[T any](v T) *T { return &v }
