package gcstest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Skipf(s string, a ...any)  { f.skipped = fmt.Sprintf(s, a...) }
func (f *fakeTB) Fatalf(s string, a ...any) { f.failed = fmt.Sprintf(s, a...) }

// An emulator that cannot start skips locally and fails under CI=true.
func TestFailWhenMissing(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	fail(f, errors.New("no port"))
	if f.skipped == "" || f.failed != "" {
		t.Errorf("locally: skipped %q, failed %q; want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	fail(f, errors.New("no port"))
	if f.failed == "" || f.skipped != "" || !strings.Contains(f.failed, "CI=true") {
		t.Errorf("on CI: skipped %q, failed %q; want a failure", f.skipped, f.failed)
	}
}

func TestStart(t *testing.T) {
	s := Start(t)
	s.Env(t)
	name := s.NewBucket(t, "Check")
	if name != "check-1" || len(s.Keys(t, name)) != 0 || !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("bucket %q, endpoint %q", name, s.Endpoint())
	}
}
