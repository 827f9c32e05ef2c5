package azuritetest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestStart(t *testing.T) {
	var s *Server
	t.Run("server", func(t *testing.T) {
		s = Start(t)
		if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") || !strings.HasSuffix(s.Endpoint(), "/"+s.Account()) {
			t.Errorf("Endpoint = %q, want loopback only, path-style", s.Endpoint())
		}
		a, b := s.NewContainer(t, "Some Test/Name_x"), s.NewContainer(t, "Some Test/Name_x")
		valid := regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$`)
		if a == b || !valid.MatchString(a) || !strings.HasPrefix(a, "some-test-name-x-") {
			t.Errorf("container names %q and %q", a, b)
		}
		svc, err := service.NewClientFromConnectionString(s.ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		page, err := svc.NewListContainersPager(nil).NextPage(context.Background())
		if err != nil || len(page.ContainerItems) != 2 {
			t.Errorf("list containers = %v, %v; want the two new ones", page.ContainerItems, err)
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
	if b := Shared(t); a != b {
		t.Error("Shared started a second server")
	}
	a.Env(t)
	if os.Getenv("AZURE_STORAGE_CONNECTION_STRING") != a.ConnectionString() || os.Getenv("AZURE_STORAGE_KEY") != "" {
		t.Error("Env did not point the Azure variables at the server")
	}
	// An account SAS works where the key does.
	svc, err := service.NewClientWithNoCredential(a.Endpoint()+"?"+a.SAS(t, "rl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewListContainersPager(nil).NextPage(context.Background()); err != nil {
		t.Errorf("list with a SAS: %v", err)
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
	t.Setenv("LAKEFUSE_AZURITE_BIN", "")

	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	findBinary(f)
	if !strings.Contains(f.skipped, "run .ci/install-azurite") || f.failed != "" {
		t.Errorf("without a binary locally: skipped %q, failed %q; want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	findBinary(f)
	if f.failed == "" || f.skipped != "" {
		t.Errorf("without a binary on CI: skipped %q, failed %q; want a failure", f.skipped, f.failed)
	}

	// The newest cached install wins.
	var bins []string
	for i, v := range []string{"azurite-3.35.0", "azurite-3.34.0"} {
		p := filepath.Join(home, ".cache", "lakefuse", v, "node_modules", ".bin", "azurite-blob")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(time.Duration(-i) * time.Hour) // the second is older
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, p)
	}
	if got := findBinary(t); got != bins[0] {
		t.Errorf("findBinary = %q, want the newest %q", got, bins[0])
	}
	// PATH beats the cache, the variable beats both.
	onPath := filepath.Join(os.Getenv("PATH"), "azurite-blob")
	if err := os.WriteFile(onPath, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := findBinary(t); got != onPath {
		t.Errorf("findBinary = %q, want the one on PATH %q", got, onPath)
	}
	t.Setenv("LAKEFUSE_AZURITE_BIN", bins[1])
	if got := findBinary(t); got != bins[1] {
		t.Errorf("findBinary = %q, want LAKEFUSE_AZURITE_BIN %q", got, bins[1])
	}
}
