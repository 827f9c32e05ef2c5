package lftest

import (
	"net/url"
	"strings"
)

// route is one API endpoint.
type route struct {
	method  string
	pattern string // path with {param} (one segment) or {param+} (the rest)
	bucket  Bucket // "" means BucketPublicAPI
	// legacy routes read the v3 tables: in v4 (events_only) mode they answer
	// 404 before authentication (rejectInEventsOnlyMode).
	legacy bool
	// public routes need no API key.
	public bool
	h      func(*call) (any, error)
}

// routes is the table of served endpoints.
var routes = []route{
	{method: "GET", pattern: "/api/public/health", public: true, h: hHealth},
	{method: "GET", pattern: "/api/public/projects", h: hProjects},

	// Tracing, v4.
	{method: "GET", pattern: "/api/public/v2/observations", h: hObservationsV2},
	{method: "GET", pattern: "/api/public/v3/scores", h: hScoresV3},
	{method: "GET", pattern: "/api/public/experiments", bucket: BucketDatasets, h: hExperiments},
	{method: "GET", pattern: "/api/public/experiment-items", bucket: BucketDatasets, h: hExperimentItems},

	// Tracing, v3 (legacy).
	{method: "GET", pattern: "/api/public/traces", bucket: BucketPublicAPILegacy, legacy: true, h: hTraces},
	{method: "GET", pattern: "/api/public/traces/{traceId}", bucket: BucketPublicAPILegacy, legacy: true, h: hTrace},
	{method: "GET", pattern: "/api/public/observations", bucket: BucketPublicAPILegacy, legacy: true, h: hObservationsV1},
	{method: "GET", pattern: "/api/public/observations/{observationId}", bucket: BucketPublicAPILegacy, legacy: true, h: hObservationV1},
	{method: "GET", pattern: "/api/public/sessions", bucket: BucketPublicAPILegacy, legacy: true, h: hSessions},
	{method: "GET", pattern: "/api/public/sessions/{sessionId}", bucket: BucketPublicAPILegacy, legacy: true, h: hSession},
	{method: "GET", pattern: "/api/public/v2/scores", legacy: true, h: hScoresV2},
	{method: "GET", pattern: "/api/public/v2/scores/{scoreId}", legacy: true, h: hScoreV2},
	{method: "GET", pattern: "/api/public/scores", legacy: true, h: hScoresV1}, // served, though not in the spec
	{method: "GET", pattern: "/api/public/datasets/{datasetName}/runs", bucket: BucketDatasets, legacy: true, h: hDatasetRuns},
	{method: "GET", pattern: "/api/public/datasets/{datasetName}/runs/{runName}", bucket: BucketDatasets, legacy: true, h: hDatasetRun},
	{method: "GET", pattern: "/api/public/dataset-run-items", bucket: BucketDatasets, legacy: true, h: hDatasetRunItems},

	// Both generations.
	{method: "GET", pattern: "/api/public/v2/prompts", bucket: BucketPrompts, h: hPrompts},
	{method: "GET", pattern: "/api/public/v2/prompts/{promptName+}", bucket: BucketPrompts, h: hPrompt},
	{method: "GET", pattern: "/api/public/score-configs", h: hScoreConfigs},
	{method: "GET", pattern: "/api/public/score-configs/{configId}", h: hScoreConfig},
	{method: "GET", pattern: "/api/public/models", h: hModels},
	{method: "GET", pattern: "/api/public/models/{id}", h: hModel},
	{method: "GET", pattern: "/api/public/v2/datasets", bucket: BucketDatasets, h: hDatasets},
	{method: "GET", pattern: "/api/public/v2/datasets/{datasetName}", bucket: BucketDatasets, h: hDataset},
	{method: "GET", pattern: "/api/public/dataset-items", bucket: BucketDatasets, h: hDatasetItems},
	{method: "GET", pattern: "/api/public/dataset-items/{id}", bucket: BucketDatasets, h: hDatasetItem},
	{method: "GET", pattern: "/api/public/comments", h: hComments},
	{method: "GET", pattern: "/api/public/comments/{commentId}", h: hComment},
	{method: "GET", pattern: "/api/public/annotation-queues", bucket: BucketAnnotationQueues, h: hQueues},
	{method: "GET", pattern: "/api/public/annotation-queues/{queueId}", bucket: BucketAnnotationQueues, h: hQueue},
	{method: "GET", pattern: "/api/public/annotation-queues/{queueId}/items", bucket: BucketAnnotationQueues, h: hQueueItems},
	{method: "GET", pattern: "/api/public/annotation-queues/{queueId}/items/{itemId}", bucket: BucketAnnotationQueues, h: hQueueItem},
	{method: "GET", pattern: "/api/public/media/{mediaId}", h: hMedia},

	// Writes (h_write.go, otlp.go).
	{method: "POST", pattern: "/api/public/otel/v1/traces", bucket: BucketIngestion, h: hOTLP},
	{method: "POST", pattern: "/api/public/ingestion", bucket: BucketIngestion, h: hIngestion},
	{method: "POST", pattern: "/api/public/score-configs", h: hCreateScoreConfig},
	{method: "PATCH", pattern: "/api/public/score-configs/{configId}", h: hUpdateScoreConfig},
	{method: "POST", pattern: "/api/public/models", h: hCreateModel},
	{method: "POST", pattern: "/api/public/v2/prompts", bucket: BucketPrompts, h: hCreatePrompt},
	{method: "PATCH", pattern: "/api/public/v2/prompts/{name}/versions/{version}", bucket: BucketPrompts, h: hSetPromptLabels},
	{method: "POST", pattern: "/api/public/v2/datasets", bucket: BucketDatasets, h: hCreateDataset},
	{method: "POST", pattern: "/api/public/dataset-items", bucket: BucketDatasets, h: hCreateDatasetItem},
	{method: "POST", pattern: "/api/public/dataset-run-items", bucket: BucketDatasets, h: hCreateDatasetRunItem},
	{method: "POST", pattern: "/api/public/comments", h: hCreateComment},
	{method: "POST", pattern: "/api/public/annotation-queues", bucket: BucketAnnotationQueues, h: hCreateQueue},
	{method: "POST", pattern: "/api/public/annotation-queues/{queueId}/items", bucket: BucketAnnotationQueues, h: hCreateQueueItem},
	{method: "POST", pattern: "/api/public/media", bucket: BucketMediaUpload, h: hCreateMedia},
	{method: "PATCH", pattern: "/api/public/media/{mediaId}", bucket: BucketMediaUpload, h: hPatchMedia},
}

// matchRoute finds the route for a method and escaped path. Path parameters
// are unescaped per segment, so "folder%2Fsub%2Fprompt" is one parameter
// "folder/sub/prompt". When the path matches but not the method, allowed
// lists the methods that would.
func matchRoute(method, escapedPath string) (rt *route, params map[string]string, allowed []string) {
	segs := strings.Split(strings.TrimSuffix(escapedPath, "/"), "/")
	for i := range routes {
		p, ok := matchPattern(routes[i].pattern, segs)
		if !ok {
			continue
		}
		if routes[i].method != method {
			allowed = append(allowed, routes[i].method)
			continue
		}
		return &routes[i], p, nil
	}
	return nil, nil, allowed
}

func matchPattern(pattern string, segs []string) (map[string]string, bool) {
	psegs := strings.Split(pattern, "/")
	params := map[string]string{}
	for i, ps := range psegs {
		if strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			var parts []string
			for _, s := range segs[i:] {
				u, err := url.PathUnescape(s)
				if err != nil || u == "" {
					return nil, false
				}
				parts = append(parts, u)
			}
			params[ps[1:len(ps)-2]] = strings.Join(parts, "/")
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(ps, "{") {
			u, err := url.PathUnescape(segs[i])
			if err != nil || u == "" {
				return nil, false
			}
			params[ps[1:len(ps)-1]] = u
			continue
		}
		if ps != segs[i] {
			return nil, false
		}
	}
	return params, len(psegs) == len(segs)
}
