package lftest

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiError is an error response in the shape the real server sends. The
// shapes come from web/src/features/public-api/server/withMiddlewares.ts
// (BaseError: {message, error: <class name>}, Zod: {message: "Invalid
// request data", error: [issues]}) and createAuthedProjectAPIRoute.ts
// (auth: {message}).
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %v", e.status, e.body) }

func errBody(status int, message, class string) *apiError {
	return &apiError{status, map[string]any{"message": message, "error": class}}
}

func notFound(msg string) error   { return errBody(http.StatusNotFound, msg, "LangfuseNotFoundError") }
func badRequest(msg string) error { return errBody(http.StatusBadRequest, msg, "InvalidRequestError") }

// zodIssue is one issue of a Zod validation error, as the server serialises
// it into the "error" field of a 400.
type zodIssue map[string]any

func zodError(issues ...zodIssue) error {
	return &apiError{http.StatusBadRequest, map[string]any{"message": "Invalid request data", "error": issues}}
}

func issueTooBig(param string, maxV int) zodIssue {
	return zodIssue{"code": "too_big", "maximum": maxV, "type": "number", "inclusive": true, "exact": false,
		"message": fmt.Sprintf("Number must be less than or equal to %d", maxV), "path": []string{param}}
}

func issueTooSmall(param string, minV int) zodIssue {
	return zodIssue{"code": "too_small", "minimum": minV, "type": "number", "inclusive": true, "exact": false,
		"message": fmt.Sprintf("Number must be greater than or equal to %d", minV), "path": []string{param}}
}

func issueNaN(param string) zodIssue {
	return zodIssue{"code": "invalid_type", "expected": "number", "received": "nan",
		"message": "Expected number, received nan", "path": []string{param}}
}

func issueCustom(param, msg string) zodIssue {
	return zodIssue{"code": "custom", "message": msg, "path": []string{param}}
}

func issueDatetime(param string) zodIssue {
	return zodIssue{"code": "invalid_string", "validation": "datetime", "message": "Invalid datetime", "path": []string{param}}
}

func issueEnum(param string, options []string, got string) zodIssue {
	return zodIssue{"code": "invalid_enum_value", "options": options, "received": got,
		"message": fmt.Sprintf("Invalid enum value. Expected %s, received '%s'", quoteJoin(options), got), "path": []string{param}}
}

func quoteJoin(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, " | ")
}

// intParam parses an integer query parameter within [minV, maxV].
func intParam(q url.Values, name string, def, minV, maxV int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0, zodError(issueNaN(name))
	}
	if f != math.Trunc(f) {
		return 0, zodError(zodIssue{"code": "invalid_type", "expected": "integer", "received": "float",
			"message": "Expected integer, received float", "path": []string{name}})
	}
	if f < float64(minV) {
		return 0, zodError(issueTooSmall(name, minV))
	}
	if f > float64(maxV) {
		return 0, zodError(issueTooBig(name, maxV))
	}
	return int(f), nil
}

// timeParam parses an ISO 8601 date-time query parameter; zero when absent.
func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, zodError(issueDatetime(name))
	}
	return t, nil
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date-time %q", v)
}

// boolParam parses "true"/"false"; nil when absent.
func boolParam(q url.Values, name string) (*bool, error) {
	switch q.Get(name) {
	case "":
		return nil, nil
	case "true":
		return ptr(true), nil
	case "false":
		return ptr(false), nil
	}
	return nil, zodError(issueEnum(name, []string{"true", "false"}, q.Get(name)))
}

// listParam returns the values of a parameter that may be repeated or
// comma-separated.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// multiParam returns the values of a repeated parameter (environment=a&environment=b).
func multiParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// enumParam checks a parameter against allowed values.
func enumParam(q url.Values, name string, allowed []string) (string, error) {
	v := q.Get(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if a == v {
			return v, nil
		}
	}
	return "", zodError(issueEnum(name, allowed, v))
}
