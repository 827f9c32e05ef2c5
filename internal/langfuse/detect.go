package langfuse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Generation is the read API a Langfuse deployment offers for tracing data.
type Generation int

const (
	// GenerationUnknown is the zero value.
	GenerationUnknown Generation = iota
	// V3: traces, v1 observations, sessions, v2 scores, dataset runs (self-hosted Langfuse v3).
	V3
	// V4: v2 observations, v3 scores, experiments (Langfuse Cloud, self-hosted v4).
	V4
)

func (g Generation) String() string {
	switch g {
	case V3:
		return "v3"
	case V4:
		return "v4"
	}
	return "unknown"
}

// probeRetries bounds the retries of Detect's probes whatever the failure (5xx, timeout,
// refused): a base URL that is not a working Langfuse should be reported in seconds, not
// after the full backoff of a long export. A host that never answered is bounded for every
// request, not only the probes, by unreachableRetries (retry.go).
const probeRetries = 2

// listProbe is the envelope every list answers with; a 200 without it is not Langfuse.
type listProbe struct {
	Data json.RawMessage `json:"data"`
}

// Detect finds out which read API the deployment serves: V4 when
// GET /api/public/v2/observations answers, V3 when that is 404 and GET /api/public/traces
// answers. Wrong keys give ErrUnauthorized, a host that cannot be reached ErrUnreachable.
func (c *Client) Detect(ctx context.Context) (Generation, error) {
	err := c.probe(ctx, "/api/public/v2/observations", BucketPublicAPI, url.Values{"limit": {"1"}, "fields": {"core"}})
	if err == nil {
		return V4, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return GenerationUnknown, fmt.Errorf("detect the Langfuse version: %w", err)
	}
	err = c.probe(ctx, "/api/public/traces", BucketLegacy, url.Values{"limit": {"1"}, "fields": {"core"}})
	if err == nil {
		return V3, nil
	}
	if errors.Is(err, ErrNotFound) {
		return GenerationUnknown, fmt.Errorf("detect the Langfuse version: %s answers 404 to both "+
			"/api/public/v2/observations and /api/public/traces: check that the base URL points at Langfuse: %w", c.baseURL, err)
	}
	return GenerationUnknown, fmt.Errorf("detect the Langfuse version: %w", err)
}

func (c *Client) probe(ctx context.Context, path string, bucket Bucket, q url.Values) error {
	o := newOp(http.MethodGet, path, bucket)
	o.query = q
	o.retries = min(probeRetries, c.maxRetries)
	var p listProbe
	if err := c.call(ctx, o, &p); err != nil {
		return err
	}
	if p.Data == nil {
		return fmt.Errorf("GET %s at %s: %w: a 200 without a data member is not a Langfuse API: check the base URL", path, c.baseURL, ErrBadResponse)
	}
	return nil
}

// Project returns the project the API keys belong to.
func (c *Client) Project(ctx context.Context) (*Project, error) {
	o := newOp(http.MethodGet, "/api/public/projects", BucketPublicAPI)
	var resp struct {
		Data []Project `json:"data"`
	}
	if err := c.call(ctx, o, &resp); err != nil {
		return nil, fmt.Errorf("get the project of the API keys: %w", err)
	}
	noteExtra(ctx, c, resp.Data)
	switch len(resp.Data) {
	case 0:
		return nil, fmt.Errorf("get the project of the API keys: %w: %s lists no project for these keys", ErrBadResponse, c.baseURL)
	case 1:
		return &resp.Data[0], nil
	}
	return nil, fmt.Errorf("get the project of the API keys: %s lists %d projects: use a project-scoped key, not an organization key", c.baseURL, len(resp.Data))
}

// Health returns the deployment's health and version.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	o := newOp(http.MethodGet, "/api/public/health", BucketPublicAPI)
	return getOne[Health](ctx, c, o, "health check")
}
