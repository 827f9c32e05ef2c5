package miniotest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestStart(t *testing.T) {
	var s *Server
	t.Run("server", func(t *testing.T) {
		s = Start(t)
		resp, err := http.Get(s.Endpoint() + "/minio/health/live")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %v %v", resp, err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
			t.Errorf("Endpoint = %q, want loopback only", s.Endpoint())
		}
		a, b := s.NewBucket(t, "Some Test/Name_x"), s.NewBucket(t, "Some Test/Name_x")
		valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
		if a == b || !valid.MatchString(a) || !strings.HasPrefix(a, "some-test-name-x-") {
			t.Errorf("bucket names %q and %q", a, b)
		}
		out, err := s.Client().ListBuckets(context.Background(), &s3.ListBucketsInput{})
		if err != nil || len(out.Buckets) != 2 {
			t.Errorf("ListBuckets = %v, %v; want the two new buckets", out, err)
		}
	})
	if s == nil {
		return
	}
	// Cleanup stopped it.
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Error("the server still runs after its test ended")
	}
}

func TestShared(t *testing.T) {
	a := Shared(t)
	b := Shared(t)
	if a != b {
		t.Error("Shared started a second server")
	}
	a.Env(t)
	if os.Getenv("AWS_ENDPOINT_URL_S3") != a.Endpoint() || os.Getenv("AWS_SECRET_ACCESS_KEY") != a.SecretKey() {
		t.Error("Env did not point the AWS variables at the server")
	}
}

func TestSessionCredentials(t *testing.T) {
	s := Shared(t)
	name := s.NewBucket(t, "session")
	id, secret, token := s.SessionCredentials(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::`+name+`"]}]}`)
	if id == "" || secret == "" || token == "" || id == s.AccessKey() {
		t.Errorf("session credentials: id %q, secret set %v, token set %v", id, secret != "", token != "")
	}
}

// fakeTB records how findBinary gives up.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Skip(args ...any)          { f.skipped = args[0].(string) }
func (f *fakeTB) Fatal(args ...any)         { f.failed = args[0].(string) }
func (f *fakeTB) Fatalf(s string, a ...any) { f.failed = s }

func TestFindBinary(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("LAKEFUSE_MINIO_BIN", "")

	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	findBinary(f)
	if !strings.Contains(f.skipped, "run .ci/install-minio") || f.failed != "" {
		t.Errorf("without a binary locally: skipped %q, failed %q; want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	findBinary(f)
	if f.failed == "" || f.skipped != "" {
		t.Errorf("without a binary on CI: skipped %q, failed %q; want a failure", f.skipped, f.failed)
	}

	// The newest cached build wins.
	var bins []string
	for i, v := range []string{"minio-v1", "minio-v2"} {
		p := filepath.Join(home, ".cache", "lakefuse", v, "minio")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(time.Duration(-i) * time.Hour) // v2 is older
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, p)
	}
	if got := findBinary(t); got != bins[0] {
		t.Errorf("findBinary = %q, want the newest %q", got, bins[0])
	}
	// PATH beats the cache, the variable beats both.
	onPath := filepath.Join(os.Getenv("PATH"), "minio")
	if err := os.WriteFile(onPath, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := findBinary(t); got != onPath {
		t.Errorf("findBinary = %q, want the one on PATH %q", got, onPath)
	}
	t.Setenv("LAKEFUSE_MINIO_BIN", bins[1])
	if got := findBinary(t); got != bins[1] {
		t.Errorf("findBinary = %q, want LAKEFUSE_MINIO_BIN %q", got, bins[1])
	}
}
