package lftest_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

func TestSmoke(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V3, lftest.V4} {
		p := lftest.Generate(1, lftest.SizeSmall)
		s, k := lftesting.ServeProject(t, lftest.Options{Mode: mode}, p)
		paths := []string{"/api/public/health", "/api/public/projects", "/api/public/v2/observations?fields=core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context&limit=1000",
			"/api/public/v3/scores?fields=details,subject,annotation&limit=100", "/api/public/experiments?fromStartTime=2020-01-01T00:00:00Z&fields=core,metadata,scores",
			"/api/public/experiment-items?fromStartTime=2020-01-01T00:00:00Z&fields=core,dataset,io,metadata,itemMetadata,experimentMetadata,scores",
			"/api/public/traces?limit=100", "/api/public/observations?limit=100", "/api/public/sessions", "/api/public/v2/scores?limit=100",
			"/api/public/datasets/" + url.PathEscape("qa/golden-set") + "/runs", "/api/public/datasets/" + url.PathEscape("qa/golden-set") + "/runs/" + url.PathEscape("run/2026-03-05 gpt-4o"),
			"/api/public/v2/prompts", "/api/public/v2/prompts/" + url.PathEscape("folder/sub/prompt"), "/api/public/v2/prompts/summariser?resolve=false", "/api/public/v2/prompts/summariser",
			"/api/public/score-configs", "/api/public/models", "/api/public/v2/datasets", "/api/public/v2/datasets/" + url.PathEscape("qa/golden-set"),
			"/api/public/dataset-items?limit=100", "/api/public/comments", "/api/public/annotation-queues",
		}
		for _, pth := range paths {
			req, _ := http.NewRequest("GET", s.URL()+pth, nil)
			req.SetBasicAuth(k.PublicKey, k.SecretKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			n := len(b)
			if n > 300 {
				b = b[:300]
			}
			t.Logf("%v %d %s (%d bytes) %s", mode, resp.StatusCode, pth, n, b)
		}
	}
}
