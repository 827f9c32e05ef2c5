// Package lftesting holds the testing.TB helpers for package lftest: start a
// Langfuse-compatible server for a test with OpenAPI validation on and fail
// the test if any request or response broke the spec. It is imported only by
// tests; package lftest itself must not import package testing.
package lftesting

import (
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/lakefuse/lakefuse/internal/lfspec"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// spec caches the loaded OpenAPI document for the test process: loading it
// takes a noticeable fraction of a second and the document is read-only.
var spec struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

// Validator returns a fresh validator (its own violation list) for the
// Langfuse OpenAPI spec: the one the repository carries (internal/lfspec), or
// the file $LAKEFUSE_OPENAPI names. A missing or broken spec fails the test.
func Validator(t testing.TB) *lftest.Validator {
	t.Helper()
	spec.once.Do(func() {
		data, origin, err := lfspec.Load()
		if spec.err = err; err == nil {
			spec.doc, spec.err = lftest.LoadSpec(data, origin)
		}
	})
	if spec.err != nil {
		t.Fatalf("load Langfuse OpenAPI spec: %v", spec.err)
	}
	v, err := lftest.NewValidator(spec.doc)
	if err != nil {
		t.Fatalf("OpenAPI validator: %v", err)
	}
	return v
}

// AssertValid fails the test with every recorded violation.
func AssertValid(t testing.TB, v *lftest.Validator) {
	t.Helper()
	if vs := v.Violations(); len(vs) > 0 {
		var b strings.Builder
		for i, x := range vs {
			if i == 20 {
				b.WriteString("\n  ...")
				break
			}
			b.WriteString("\n  " + x.String())
		}
		t.Errorf("%d OpenAPI violations:%s", len(vs), b.String())
	}
}

// NewServer starts a server for the test. Unless opts.Validator is set, it
// validates every request and response against the spec; at cleanup the
// server is closed and any violation fails the test.
func NewServer(t testing.TB, opts lftest.Options) *lftest.Server {
	t.Helper()
	if opts.Validator == nil {
		opts.Validator = Validator(t)
	}
	s := lftest.NewServer(opts)
	t.Cleanup(func() {
		s.Close()
		AssertValid(t, opts.Validator)
	})
	return s
}

// Keys identify a project on a server.
type Keys struct {
	ProjectID, PublicKey, SecretKey string
}

// ServeProject starts a validated server (NewServer) that serves p.
func ServeProject(t testing.TB, opts lftest.Options, p *lftest.Project) (*lftest.Server, Keys) {
	t.Helper()
	s := NewServer(t, opts)
	id, pk, sk := s.AddGeneratedProject(p)
	return s, Keys{ProjectID: id, PublicKey: pk, SecretKey: sk}
}
