package lfspec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// UpstreamEnv names an upstream spec file to check the embedded one against
// (CI sets it when a copy of Langfuse's spec is at hand; nothing else looks
// for one).
const UpstreamEnv = "LAKEFUSE_OPENAPI_UPSTREAM"

const sample = `openapi: 3.0.1
info:
  title: server
  version: ''
  description: long prose
paths:
  /api/public/datasets:
    post:
      description: Create a dataset
      operationId: datasets_create
      x-fern-sdk-group-name: datasets
      parameters:
        - name: description
          in: query
          description: a parameter named like a keyword
          required: false
          schema:
            type: string
            nullable: true
      requestBody:
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/CreateDatasetRequest'
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Dataset'
components:
  schemas:
    title:
      title: a schema named title
      type: string
      enum: [description, title]
    Dataset:
      title: Dataset
      type: object
      description: A dataset
      properties:
        description:
          type: string
          nullable: true
          description: Description of the dataset
        title:
          type: string
        example:
          $ref: '#/components/schemas/title'
      required:
        - description
        - title
`

func TestDeriveDropsProseKeepsFacts(t *testing.T) {
	out, err := Derive([]byte(sample), Source{Version: "v9.9.9", Commit: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("derived spec does not parse: %v\n%s", err, out)
	}
	want := map[string]any{
		"openapi": "3.0.1",
		"info":    map[string]any{"title": "server", "version": "v9.9.9"},
		"paths": map[string]any{"/api/public/datasets": map[string]any{"post": map[string]any{
			"operationId": "datasets_create",
			"parameters": []any{map[string]any{
				"name": "description", "in": "query", "required": false,
				"schema": map[string]any{"type": "string", "nullable": true},
			}},
			"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/CreateDatasetRequest"}}}},
			"responses": map[string]any{"200": map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/Dataset"}}}}},
		}}},
		"components": map[string]any{"schemas": map[string]any{
			"title": map[string]any{"type": "string", "enum": []any{"description", "title"}},
			"Dataset": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"description": map[string]any{"type": "string", "nullable": true},
					"title":       map[string]any{"type": "string"},
					"example":     map[string]any{"$ref": "#/components/schemas/title"},
				},
				"required": []any{"description", "title"},
			},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("derived:\n%s", out)
	}
	src, err := ReadSource(out)
	if err != nil || src != (Source{Version: "v9.9.9", Commit: "abc123"}) {
		t.Errorf("ReadSource = %+v, %v", src, err)
	}
}

func TestDeriveRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		in  string
		src Source
	}{
		"no version":  {sample, Source{Commit: "abc"}},
		"no commit":   {sample, Source{Version: "v1"}},
		"not yaml":    {"openapi: [", Source{"v1", "abc"}},
		"a list":      {"- a\n- b\n", Source{"v1", "abc"}},
		"no paths":    {"openapi: 3.0.1\ninfo: {title: x, version: y}\n", Source{"v1", "abc"}},
		"empty input": {"", Source{"v1", "abc"}},
	} {
		if _, err := Derive([]byte(c.in), c.src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestEmbedded checks what the repository carries: a header naming the
// upstream release and commit, and a spec the coverage tests can use.
func TestEmbedded(t *testing.T) {
	src, err := ReadSource(Embedded())
	if err != nil {
		t.Fatal(err)
	}
	if src.Version != "v4.16.0" || src.Commit != "62751446149b702b419a9292ddfc2280cdf74b8c" {
		t.Logf("embedded spec is from %s %s", src.Version, src.Commit)
	}
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(Embedded(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/public/otel/v1/traces", "/api/public/ingestion", "/api/public/v2/observations", "/api/public/v3/scores"} {
		if doc.Paths[p] == nil {
			t.Errorf("embedded spec has no %s", p)
		}
	}
	if len(doc.Components.Schemas) < 100 {
		t.Errorf("embedded spec has %d schemas", len(doc.Components.Schemas))
	}
	for _, line := range strings.Split(string(Embedded()), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "description: "); ok && d != "''" {
			t.Errorf("embedded spec still has prose: %s", line)
			break
		}
	}
}

func TestLoad(t *testing.T) {
	t.Setenv(Env, "")
	data, origin, err := Load()
	if err != nil || &data[0] != &Embedded()[0] || !strings.Contains(origin, "lfspec") {
		t.Errorf("Load() = %d bytes from %q, %v; want the embedded spec", len(data), origin, err)
	}
	other := filepath.Join(t.TempDir(), "newer.yml")
	if err := os.WriteFile(other, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, other)
	if data, origin, err := Load(); err != nil || string(data) != sample || origin != other {
		t.Errorf("with $%s: %q, %v", Env, origin, err)
	}
	t.Setenv(Env, filepath.Join(t.TempDir(), "missing.yml"))
	if _, _, err := Load(); err == nil || !strings.Contains(err.Error(), Env) {
		t.Errorf("with $%s naming a missing file: %v", Env, err)
	}
}

// TestEmbeddedIsCurrent re-derives the embedded spec from the upstream file
// $LAKEFUSE_OPENAPI_UPSTREAM names, and checks, independently of Derive,
// that the derived tree is the upstream tree less its prose.
func TestEmbeddedIsCurrent(t *testing.T) {
	path := os.Getenv(UpstreamEnv)
	if path == "" {
		t.Skipf("$%s not set", UpstreamEnv)
	}
	upstream, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := ReadSource(Embedded())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Derive(upstream, src)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(Embedded()) {
		t.Errorf("internal/lfspec/openapi.yml is not derived from %s: run go run ./internal/lfspec/derive -version %s -commit %s %s", path, src.Version, src.Commit, path)
	}
	var up, derived map[string]any
	if err := yaml.Unmarshal(upstream, &up); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(Embedded(), &derived); err != nil {
		t.Fatal(err)
	}
	want := withoutProse(up, false).(map[string]any)
	want["info"] = derived["info"]
	if !reflect.DeepEqual(want, derived) {
		t.Error("the derived spec is not the upstream spec less its prose")
	}
}

// withoutProse drops prose keys from a decoded spec; names says that n's
// keys are names, response that n is a Response object (whose description
// OpenAPI 3.0 requires).
func withoutProse(n any, names bool) any {
	return strip2(n, names, false)
}

func strip2(n any, names, response bool) any {
	switch n := n.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, v := range n {
			if !names && !(response && k == "description") && (prose[k] || strings.HasPrefix(k, "x-fern")) {
				continue
			}
			switch {
			case names:
				m[k] = strip2(v, false, response)
			case k == "responses":
				m[k] = strip2(v, true, true)
			default:
				m[k] = strip2(v, nameMaps[k], false)
			}
		}
		return m
	case []any:
		l := make([]any, len(n))
		for i, e := range n {
			l[i] = strip2(e, false, false)
		}
		return l
	}
	return n
}
