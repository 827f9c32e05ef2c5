package azuritetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lakefuse/lakefuse/internal/testbin"
)

// Server is a running Azurite blob service on 127.0.0.1.
type Server struct {
	endpoint   string // http://127.0.0.1:PORT/ACCOUNT
	account    string
	key        string
	cmd        *exec.Cmd
	exited     chan struct{}
	out        *testbin.Output
	dataDir    string
	containers atomic.Int64
}

// Start starts an Azurite server for t and stops it when t ends. Without
// an azurite-blob launcher it skips t, or fails it when CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	s, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("azuritetest: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

var shared struct {
	mu     sync.Mutex
	inMain bool
	srv    *Server
	err    error
}

// Main runs a package's tests so that they can share one server through
// Shared, and stops it afterwards:
//
//	func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m)) }
//
// A package that shares MinIO too calls both: miniotest.Main(m) runs the
// tests, so wrap as azuritetest.MainFunc(func() int { return miniotest.Main(m) }).
func Main(m *testing.M) int { return MainFunc(m.Run) }

// MainFunc is Main around any function that runs the tests.
func MainFunc(run func() int) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.stop()
		_ = os.RemoveAll(shared.srv.dataDir)
	}
	return code
}

// Shared returns the test binary's one server, starting it on first use.
// It needs TestMain to call Main. Tests sharing it isolate themselves with
// NewContainer.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("azuritetest.Shared needs the package's TestMain to call azuritetest.Main: func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m)) }")
	}
	if shared.srv == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "azuritetest-")
		if err == nil {
			shared.srv, err = start(bin, dir)
		}
		shared.err = err
	}
	if shared.err != nil {
		t.Fatalf("azuritetest: %v", shared.err)
	}
	return shared.srv
}

// findBinary looks at LAKEFUSE_AZURITE_BIN, then PATH, then the newest
// install that .ci/install-azurite cached.
func findBinary(t testing.TB) string {
	t.Helper()
	return testbin.Find(t, testbin.Spec{
		Pkg:     "azuritetest",
		Env:     "LAKEFUSE_AZURITE_BIN",
		Name:    "azurite-blob",
		Cache:   []string{"azurite-*", "node_modules", ".bin", "azurite-blob"},
		What:    "azurite",
		Install: "run .ci/install-azurite",
	})
}

func start(bin, dir string) (*Server, error) {
	var lastErr error
	// A free port can be taken between probing and binding: try again then.
	for range 3 {
		s, err := startOnce(bin, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin, dir string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Server{
		account: "lakefuse" + randHex(4),
		key:     base64.StdEncoding.EncodeToString(key),
		out:     &testbin.Output{},
		exited:  make(chan struct{}),
		dataDir: dir,
	}
	s.endpoint = fmt.Sprintf("http://127.0.0.1:%d/%s", port, s.account)
	data := filepath.Join(dir, fmt.Sprintf("data-%d", port))
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		// Metadata and blobs in memory: a test's few thousand blobs write
		// faster than through Azurite's on-disk database.
		"--inMemoryPersistence",
		// The SDK speaks a newer service version than Azurite knows.
		"--skipApiVersionCheck",
		// Ignore headers Azurite does not implement instead of failing.
		"--loose",
		"--disableTelemetry",
		"--disableProductStyleUrl",
		"--silent")
	s.cmd.Dir = data // whatever it writes, it writes here
	s.cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+s.account+":"+s.key)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	testbin.SetDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitLive(60 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; azurite output:\n%s", err, s.out.String())
	}
	return s, nil
}

// waitLive waits until the server answers HTTP at all (an anonymous request
// is refused, which is an answer).
func (s *Server) waitLive(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("azurite exited during start-up")
		default:
		}
		resp, err := client.Get(s.endpoint + "?comp=list")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("azurite not live at %s after %s", s.endpoint, timeout)
}

func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Endpoint is the account's blob service URL, http://127.0.0.1:PORT/ACCOUNT.
func (s *Server) Endpoint() string { return s.endpoint }

// Account is the storage account's name.
func (s *Server) Account() string { return s.account }

// Key is the account's key (base64).
func (s *Server) Key() string { return s.key }

// ConnectionString is an Azure connection string for the account.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", s.account, s.key, s.endpoint)
}

// Env points AZURE_STORAGE_CONNECTION_STRING at the server for the rest of
// t (a connection string is the one standard variable that carries an
// endpoint), and clears the other Azure variables.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": s.ConnectionString(),
		"AZURE_STORAGE_ACCOUNT":           "",
		"AZURE_STORAGE_KEY":               "",
		"AZURE_STORAGE_SAS_TOKEN":         "",
	} {
		t.Setenv(k, v)
	}
}

// Client returns a container client for name with the account key, for
// checks that go around the code under test.
func (s *Server) Client(name string) *container.Client {
	cred, err := container.NewSharedKeyCredential(s.account, s.key)
	if err != nil {
		panic(err) // the key is base64 by construction
	}
	c, err := container.NewClientWithSharedKeyCredential(s.endpoint+"/"+name, cred, nil)
	if err != nil {
		panic(err)
	}
	return c
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// NewContainer creates an empty container whose name starts with name (made
// fit for Azure) and is unique on the server, and returns that name.
func (s *Server) NewContainer(t testing.TB, name string) string {
	t.Helper()
	name = strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	name = fmt.Sprintf("%.40s-%d-%s", name, s.containers.Add(1), randHex(3))
	if name[0] == '-' {
		name = "c" + name
	}
	if _, err := s.Client(name).Create(context.Background(), nil); err != nil {
		t.Fatalf("azuritetest: create container %s: %v", name, err)
	}
	return name
}

// SAS returns an account SAS token (without "?") valid for an hour, with
// the given permissions ("rwdlac" for everything lakefuse does).
func (s *Server) SAS(t testing.TB, permissions string) string {
	t.Helper()
	cred, err := service.NewSharedKeyCredential(s.account, s.key)
	if err != nil {
		t.Fatal(err)
	}
	perms := sas.AccountPermissions{}
	for _, p := range permissions {
		switch p {
		case 'r':
			perms.Read = true
		case 'w':
			perms.Write = true
		case 'd':
			perms.Delete = true
		case 'l':
			perms.List = true
		case 'a':
			perms.Add = true
		case 'c':
			perms.Create = true
		}
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Hour).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatalf("azuritetest: sign SAS: %v", err)
	}
	return qp.Encode()
}
