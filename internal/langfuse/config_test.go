package langfuse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{RequestTimeout: -1, Concurrency: map[Bucket]int{"nope": 1, BucketDatasets: -2}}.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"LANGFUSE_BASE_URL", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY",
		"request timeout", `unknown bucket "nope"`, `bucket "datasets" is negative`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{BaseURL: "https://cloud.langfuse.com", PublicKey: testPublic, SecretKey: testSecret}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"path prefix", func(c *Config) { c.BaseURL = "http://localhost:3000/langfuse/" }, ""},
		{"no scheme", func(c *Config) { c.BaseURL = "cloud.langfuse.com" }, "must start with http"},
		{"ftp", func(c *Config) { c.BaseURL = "ftp://x" }, "must start with http"},
		{"credentials in URL", func(c *Config) { c.BaseURL = "https://" + testPublic + ":" + testSecret + "@host" }, "must not contain credentials"},
		{"query", func(c *Config) { c.BaseURL = "https://host/?a=b" }, "query"},
		{"swapped", func(c *Config) { c.PublicKey, c.SecretKey = c.SecretKey, c.PublicKey }, "swapped"},
		{"newline", func(c *Config) { c.SecretKey += "\n" }, "whitespace"},
		{"negative wait", func(c *Config) { c.MaxWait = -1 }, "max wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to mention %q", err, tt.want)
			}
			assertNoSecret(t, "validation error", err.Error())
			if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	cfg := Config{BaseURL: "https://cloud.langfuse.com", PublicKey: testPublic, SecretKey: testSecret}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.BaseURL = "https://" + testPublic + ":" + testSecret + "@cloud.langfuse.com"
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("config", "cfg", cfg, "client", c, "bad", bad)
	log.Info("text", "cfg", fmt.Sprint(cfg))
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join([]string{
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v", &cfg, &cfg),
		fmt.Sprintf("%v %+v %#v", bad, bad, bad),
		logs.String(), string(js),
	}, "\n")
	assertNoSecret(t, "printed config and client", out)
	if !strings.Contains(out, testPublic) || !strings.Contains(out, redacted) {
		t.Errorf("printed config should show the public key and mark the secret redacted:\n%s", out)
	}
}
