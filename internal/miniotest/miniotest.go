package miniotest

import (
	"context"
	"crypto/rand"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lakefuse/lakefuse/internal/testbin"
)

// Server is a running MinIO server on 127.0.0.1.
type Server struct {
	endpoint  string
	accessKey string
	secretKey string
	cmd       *exec.Cmd
	exited    chan struct{}
	out       *testbin.Output
	dataDir   string
	buckets   atomic.Int64
}

// Start starts a MinIO server for t and stops it when t ends. Without a
// minio binary it skips t, or fails it when CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	s, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("miniotest: %v", err)
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
//	func TestMain(m *testing.M) { os.Exit(miniotest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.stop()
		_ = os.RemoveAll(shared.srv.dataDir)
	}
	return code
}

// Shared returns the test binary's one server, starting it on first use,
// which saves the second or two a start costs. It needs TestMain to call Main.
// Tests sharing it isolate themselves with NewBucket.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("miniotest.Shared needs the package's TestMain to call miniotest.Main: func TestMain(m *testing.M) { os.Exit(miniotest.Main(m)) }")
	}
	if shared.srv == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "miniotest-")
		if err == nil {
			shared.srv, err = start(bin, dir)
		}
		shared.err = err
	}
	if shared.err != nil {
		t.Fatalf("miniotest: %v", shared.err)
	}
	return shared.srv
}

// findBinary looks at LAKEFUSE_MINIO_BIN, then PATH, then the newest build
// that .ci/install-minio cached.
func findBinary(t testing.TB) string {
	t.Helper()
	return testbin.Find(t, testbin.Spec{
		Pkg:     "miniotest",
		Env:     "LAKEFUSE_MINIO_BIN",
		Name:    "minio",
		Cache:   []string{"minio-*", "minio"},
		What:    "minio",
		Install: "run .ci/install-minio",
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
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &Server{
		endpoint:  fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		accessKey: "lakefuse" + randHex(6),
		secretKey: randHex(20),
		out:       &testbin.Output{},
		exited:    make(chan struct{}),
		dataDir:   dir,
	}
	data := filepath.Join(dir, fmt.Sprintf("data-%d", ports[0]))
	s.cmd = exec.Command(bin, "server", data,
		"--address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--certs-dir", filepath.Join(dir, "certs"),
		"--quiet")
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.accessKey,
		"MINIO_ROOT_PASSWORD="+s.secretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// A static KMS key, so that SSE-S3 and SSE-KMS (with this key id)
		// work as on AWS (minio internal/kms: a single static key).
		"MINIO_KMS_SECRET_KEY="+KMSKeyID+":"+kmsKey,
	)
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
		return nil, fmt.Errorf("%w; minio output:\n%s", err, s.out.String())
	}
	return s, nil
}

func (s *Server) waitLive(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("minio exited during start-up")
		default:
		}
		resp, err := client.Get(s.endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("minio not live at %s after %s", s.endpoint, timeout)
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

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// KMSKeyID is the one key of the server's KMS, for SSE-KMS writes
// (x-amz-server-side-encryption-aws-kms-key-id). SSE-S3 uses it too.
const KMSKeyID = "lakefuse-test-key"

// kmsKey is the static key's 32 bytes, base64: test data, not a secret.
const kmsKey = "bGFrZWZ1c2UtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="

// Endpoint is the server's S3 endpoint, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return s.endpoint }

// AccessKey is the root user's access key.
func (s *Server) AccessKey() string { return s.accessKey }

// SecretKey is the root user's secret key.
func (s *Server) SecretKey() string { return s.secretKey }

// Env points the standard AWS variables at the server for the rest of t, and
// hides the developer's own AWS configuration from it.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           s.accessKey,
		"AWS_SECRET_ACCESS_KEY":       s.secretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_ENDPOINT_URL_S3":         s.endpoint,
		"AWS_ENDPOINT_URL":            "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"GCS_HMAC_ACCESS_KEY_ID":      "",
		"GCS_HMAC_SECRET_ACCESS_KEY":  "",
	} {
		t.Setenv(k, v)
	}
}

// Client returns an S3 client for the server with the root user's keys, for
// checks that go around the code under test.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.accessKey, s.secretKey, ""),
	})
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// NewBucket creates an empty bucket whose name starts with name (made fit
// for S3) and is unique on the server, and returns that name.
func (s *Server) NewBucket(t testing.TB, name string) string {
	t.Helper()
	name = strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	name = fmt.Sprintf("%.40s-%d-%s", name, s.buckets.Add(1), randHex(3))
	if name[0] == '-' {
		name = "b" + name
	}
	_, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name})
	if err != nil {
		t.Fatalf("miniotest: create bucket %s: %v", name, err)
	}
	return name
}

// SessionCredentials returns temporary keys limited by an IAM policy (JSON),
// for tests of what a key may not do. MinIO grants them through STS
// AssumeRole as the root user.
func (s *Server) SessionCredentials(t testing.TB, policy string) (accessKey, secretKey, sessionToken string) {
	t.Helper()
	client := sts.New(sts.Options{
		BaseEndpoint: aws.String(s.endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(s.accessKey, s.secretKey, ""),
	})
	input := &sts.AssumeRoleInput{
		// MinIO ignores the role for its own users but the SDK requires one.
		RoleArn:         aws.String("arn:minio:iam:::role/lakefuse-test"),
		RoleSessionName: aws.String("lakefuse-test"),
		Policy:          aws.String(policy),
		DurationSeconds: aws.Int32(3600),
	}
	// MinIO answers /minio/health/live before its IAM subsystem has
	// loaded; until then STS says "Server not initialized, please try
	// again" (seen under CI load), so wait for it as for liveness.
	deadline := time.Now().Add(60 * time.Second)
	out, err := client.AssumeRole(context.Background(), input)
	for err != nil && strings.Contains(err.Error(), "Server not initialized") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		out, err = client.AssumeRole(context.Background(), input)
	}
	if err != nil {
		t.Fatalf("miniotest: assume role with a session policy: %v", err)
	}
	c := out.Credentials
	return aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)
}
