package langfuse

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// promptFromServer is GET /api/public/v2/prompts/{name} as Langfuse v4
// answers: the Prisma prompt row spread, resolutionGraph, and isActive
// (web/src/features/prompts/server/handlers/promptNameHandler.ts,
// packages/shared/src/server/services/PromptService/index.ts,
// packages/shared/prisma/schema.prisma model Prompt).
const promptFromServer = `{"id":"cm1prompt","createdAt":"2026-03-01T10:00:00.000Z","updatedAt":"2026-03-02T11:00:00.000Z",
"projectId":"proj-1","createdBy":"API","prompt":"Hello {{name}}","name":"greet","version":3,"type":"text",
"isActive":true,"config":{},"tags":["a"],"labels":["production"],"commitMessage":null,"resolutionGraph":null}`

// modelFromServer is GET /api/public/models/{id}: prismaToApiModelDefinition
// drops projectId and updatedAt (web/src/features/public-api/types/models.ts).
const modelFromServer = `{"id":"m1","createdAt":"2026-03-01T10:00:00.000Z","modelName":"gpt-x","matchPattern":"(?i)^gpt-x$",
"startDate":null,"tokenizerId":null,"tokenizerConfig":null,"unit":"TOKENS","inputPrice":1e-6,"outputPrice":2e-6,"totalPrice":null,
"prices":{"input":{"price":1e-6}},"isLangfuseManaged":false,"pricingTiers":[]}`

// The fields Langfuse always sends are modelled: none is "unknown", and a
// field that truly is unknown is logged once per type and field, at debug
// level (it is kept as an extra field, so nothing is lost).
func TestFieldsLangfuseSendsAreModelled(t *testing.T) {
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/public/v2/prompts/"):
			_, _ = w.Write([]byte(strings.Replace(promptFromServer, `"name":"greet"`, `"name":"greet","brandNew":1`, 1)))
		case r.URL.Path == "/api/public/models":
			_, _ = w.Write([]byte(`{"data":[` + modelFromServer + `,` + modelFromServer + `],"meta":{"page":1,"limit":50,"totalItems":2,"totalPages":1}}`))
		default:
			w.WriteHeader(404)
		}
	}))
	ctx := context.Background()
	for range 2 {
		p, err := env.c.GetPrompt(ctx, "greet", 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Extra) != 1 || p.Extra["brandNew"] == nil {
			t.Errorf("Prompt extra fields %v, want only brandNew", p.Extra)
		}
		if p.ID != "cm1prompt" || p.ProjectID != "proj-1" || p.CreatedBy == nil || *p.CreatedBy != "API" ||
			p.CreatedAt == nil || p.UpdatedAt == nil || p.UpdatedAt.Day() != 2 || p.IsActive == nil || !*p.IsActive {
			t.Errorf("Prompt fields not decoded: %+v", p)
		}
	}
	err := env.c.ListModels(ctx, PageOptions{}, func(page []Model) error {
		for _, m := range page {
			if len(m.Extra) != 0 {
				t.Errorf("Model extra fields %v", m.Extra)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := env.logs.String()
	if strings.Contains(logs, `"level":"INFO"`) {
		t.Errorf("info lines for fields Langfuse sends:\n%s", logs)
	}
	for _, f := range []string{"id", "createdAt", "updatedAt", "projectId", "createdBy", "isActive"} {
		if strings.Contains(logs, `"field":"`+f+`"`) {
			t.Errorf("%s reported as unknown:\n%s", f, logs)
		}
	}
	if n := strings.Count(logs, `"field":"brandNew"`); n != 1 || !strings.Contains(logs, `"level":"DEBUG","msg":"Langfuse sent a field`) {
		t.Errorf("brandNew reported %d times, want once at debug level:\n%s", n, logs)
	}
}
