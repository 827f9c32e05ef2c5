package gcstest

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Server is a running emulator.
type Server struct {
	srv     *fakestorage.Server
	buckets atomic.Int64
}

// Start starts an emulator for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	srv, err := start()
	if err != nil {
		fail(t, err)
		return nil
	}
	t.Cleanup(srv.Stop)
	return &Server{srv: srv}
}

func start() (srv *fakestorage.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fake-gcs-server panicked: %v", r)
		}
	}()
	return fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1"})
}

// fail skips t, or fails it when CI=true.
func fail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("gcstest: the GCS emulator did not start (CI=true, so this fails instead of skipping): %v", err)
		return
	}
	t.Skipf("gcstest: the GCS emulator did not start: %v", err)
}

// Endpoint is the emulator's base URL, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return s.srv.URL() }

// Env sets STORAGE_EMULATOR_HOST for t (so t cannot be parallel) and clears
// the HMAC variables, so that gs:// locations use the JSON API driver on the
// emulator.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	t.Setenv("STORAGE_EMULATOR_HOST", s.Endpoint())
	t.Setenv("GCS_HMAC_ACCESS_KEY_ID", "")
	t.Setenv("GCS_HMAC_SECRET_ACCESS_KEY", "")
}

// NewBucket creates an empty bucket whose name starts with prefix.
func (s *Server) NewBucket(t testing.TB, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", strings.ToLower(prefix), s.buckets.Add(1))
	s.srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
	return name
}

// Keys lists every object name in bucket, straight from the emulator.
func (s *Server) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	opts := fakestorage.ListOptions{}
	for {
		page, err := s.srv.ListObjectsWithOptionsPaginated(bucket, opts)
		if err != nil {
			t.Fatalf("gcstest: list %s: %v", bucket, err)
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Name)
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	return keys
}
