package langfuse

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A server that has never answered (a wrong host or port) gets the same
// short retry budget whichever request comes first: export starts with
// Detect, import with Project, and both used to differ (2.5 s vs 35.7 s).
// The message states the policy.
func TestRefusedPortOnePolicy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // the port now refuses connections
	calls := map[string]func(c *Client) error{
		"Detect":  func(c *Client) error { _, err := c.Detect(context.Background()); return err },
		"Project": func(c *Client) error { _, err := c.Project(context.Background()); return err },
		"Health":  func(c *Client) error { _, err := c.Health(context.Background()); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			env := newTestClientURL(t, nil, base)
			err := call(env.c)
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			if _, n := env.clock.slept(); n != unreachableRetries {
				t.Errorf("%d retries, want %d", n, unreachableRetries)
			}
			want := "gave up after 3 attempts"
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "never answered") {
				t.Errorf("err = %v, want it to say %q and why", err, want)
			}
		})
	}
}

// Once the server has answered, a refused connection is a server going
// away mid-run (a restart): it gets the full retries.
func TestRefusedAfterAnswerFullRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"status": "OK", "version": "4.0.0"})
	}))
	env := newTestClientURL(t, srv, srv.URL)
	if _, err := env.c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_, err := env.c.Health(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if _, n := env.clock.slept(); n != DefaultMaxRetries {
		t.Errorf("%d retries, want %d", n, DefaultMaxRetries)
	}
}
