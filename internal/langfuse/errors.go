package langfuse

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors: test with errors.Is. An *APIError matches the sentinel of its status.
var (
	// ErrUnauthorized: 401 or 403, the keys are wrong or lack access.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: 404, the entity or the endpoint does not exist.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: 429 even after the retries.
	ErrRateLimited = errors.New("rate limited")
	// ErrBadRequest: 400 or 422, Langfuse refused the request's parameters or body.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: 413, the request body is above the server's limit (split the batch).
	ErrTooLarge = errors.New("request too large")
	// ErrServer: a 5xx status, even after the retries.
	ErrServer = errors.New("server error")
	// ErrUnreachable: no connection to the host (DNS, refused, no route, dial timeout).
	ErrUnreachable = errors.New("cannot reach the server")
	// ErrBadResponse: a 2xx whose body is not what the endpoint promises.
	ErrBadResponse = errors.New("malformed response")
	// ErrOutcomeUnknown: a write failed after the request was sent, so Langfuse may or may not
	// have processed it. Such writes are not retried; the caller must check the destination
	// before sending again. Write errors without it were not processed.
	ErrOutcomeUnknown = errors.New("outcome unknown: the request may have been processed")
)

// APIError is a non-2xx answer from Langfuse (or from a media storage upload URL).
type APIError struct {
	Status  int
	Method  string
	Path    string // without query: a presigned URL's query holds a signature
	Message string // the server's message, with secrets removed
	Code    string // the server's machine-readable code, if any (e.g. "rate_limited")
	BaseURL string // the deployment, for messages
	Hint    string // where the keys came from, for 401/403 messages
}

func (e *APIError) Error() string {
	what := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		what += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("Langfuse rejected the API keys for %s: check %s (%s)", e.BaseURL, e.hint(), what)
	case http.StatusForbidden:
		return fmt.Sprintf("Langfuse denied access at %s: check that %s belong to a key with access to this project (%s)", e.BaseURL, e.hint(), what)
	}
	return "Langfuse " + what
}

func (e *APIError) hint() string {
	if e.Hint == "" {
		return DefaultKeysHint
	}
	return e.Hint
}

// Is maps the status to a sentinel error.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// errorBody covers the shapes of Langfuse error bodies: {"message": …}, {"error": …} and the
// structured contract {"message", "code", "details"}.
type errorBody struct {
	Message json.RawMessage `json:"message"`
	Error   json.RawMessage `json:"error"`
	Code    string          `json:"code"`
}

// errorMessage extracts a short message from an error response body.
func errorMessage(body []byte) (msg, code string) {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		for _, raw := range []json.RawMessage{eb.Message, eb.Error} {
			var s string
			if len(raw) == 0 || string(raw) == "null" {
				continue
			}
			if json.Unmarshal(raw, &s) == nil {
				return truncate(s, 300), eb.Code
			}
			return truncate(string(raw), 300), eb.Code // zod issues arrive as arrays or objects
		}
	}
	return truncate(strings.TrimSpace(string(body)), 300), ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// redactSecrets removes the secret key and the Basic credentials built from it, in case a
// server or proxy echoes them.
func redactSecrets(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, redacted)
		}
	}
	return s
}

func basicToken(public, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(public + ":" + secret))
}
