package langfuse

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// unreachableRetries bounds the retries of a request that cannot connect
// (refused, no route, unknown host) while this client has had no answer from
// Langfuse yet: a wrong host or port is reported in seconds, by export
// (whose first request is Detect) and import (Project) alike. Once Langfuse
// has answered, a refused connection is a server restarting mid-run, and the
// request gets the full MaxRetries.
const unreachableRetries = 2

// attemptResult is what one HTTP exchange produced.
type attemptResult struct {
	status     int
	header     http.Header
	body       []byte
	sent       bool          // the whole request was written, so the server may have acted on it
	err        error         // transport, body-read or decode error
	cut        bool          // err means the response body was cut short
	permanent  bool          // err cannot go away by retrying (bad request construction, huge body)
	retryAfter time.Duration // the bucket was paused this long by the server's answer
}

// shouldRetry classifies one attempt, like rclone's shouldRetry: err is nil on success and
// otherwise the error to return when no retry follows.
func (c *Client) shouldRetry(ctx context.Context, o *op, r *attemptResult) (retry bool, err error) {
	unknown := func(err error) error {
		if o.idempotent || !r.sent {
			return err
		}
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, unknown(fmt.Errorf("%s %s: %w", o.method, o.display(), ctxErr))
	}
	if r.err != nil && r.status == 0 {
		err := c.transportError(o, r.err)
		if r.permanent || !retryableTransport(r.err) {
			return false, err
		}
		if r.sent && !o.idempotent {
			return false, unknown(err)
		}
		return true, err
	}
	if r.status >= 200 && r.status < 300 {
		if r.err == nil {
			return false, nil
		}
		if r.cut {
			err := fmt.Errorf("%s %s: response cut short: %w", o.method, o.display(), r.err)
			if !o.idempotent {
				return false, unknown(err)
			}
			return true, err
		}
		err := fmt.Errorf("%s %s: %w (content type %q): %v",
			o.method, o.display(), ErrBadResponse, r.header.Get("Content-Type"), c.redact(r.err.Error()))
		return false, unknown(err)
	}
	apiErr := c.apiError(o, r)
	switch r.status {
	case http.StatusTooManyRequests:
		// Rate limiting happens before the handler runs, so even writes are safe to resend.
		return true, apiErr
	}
	if transientStatus(r.status) {
		if !o.idempotent {
			return false, unknown(apiErr)
		}
		return true, apiErr
	}
	return false, apiErr
}

// transientStatus reports the statuses that may go away by themselves: server errors and
// timeouts, including those of Cloudflare in front of Langfuse Cloud (520–524, e.g. 524 when a
// query outlasts the proxy).
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return code >= 520 && code <= 524
}

func (c *Client) apiError(o *op, r *attemptResult) *APIError {
	msg, code := errorMessage(r.body)
	return &APIError{
		Status:  r.status,
		Method:  o.method,
		Path:    o.display(),
		Message: c.redact(msg),
		Code:    code,
		BaseURL: c.baseURL,
		Hint:    c.keysHint,
	}
}

// clientError carries a message written for people and the kinds callers test for.
type clientError struct {
	msg   string
	kinds []error
}

func (e *clientError) Error() string   { return e.msg }
func (e *clientError) Unwrap() []error { return e.kinds }

func (c *Client) transportError(o *op, err error) error {
	err = unwrapURLError(err)
	detail := c.errDetail(err)
	if errors.Is(err, context.DeadlineExceeded) {
		detail = fmt.Sprintf("no complete answer within %v", c.timeoutFor(o))
	}
	what, host, check := "Langfuse", c.baseURL, "check the base URL and the network"
	if o.external {
		what, host, check = "media storage", o.host(), "check the network"
	}
	if unreachable(err) {
		return &clientError{
			msg:   fmt.Sprintf("cannot reach %s at %s (%s %s): %s; %s", what, host, o.method, o.display(), detail, check),
			kinds: []error{ErrUnreachable, err},
		}
	}
	return &clientError{
		msg:   fmt.Sprintf("%s %s at %s: %s", o.method, o.display(), host, detail),
		kinds: []error{err},
	}
}

// unwrapURLError drops url.Error, which repeats the URL: its query may hold a presigned
// signature, and the message names the endpoint anyway.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// errDetail is the text of a transport error fit for errors and logs.
func (c *Client) errDetail(err error) string { return c.redact(unwrapURLError(err).Error()) }

// unreachable reports whether err happened while connecting, before any byte was sent.
func unreachable(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// retryableTransport reports whether a transport error may go away: resets, EOFs, timeouts
// and refused connections may; unknown hosts and certificate problems will not.
func retryableTransport(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var headerErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid) || errors.As(err, &headerErr) {
		return false
	}
	return true
}

// isTruncation reports whether a decode error means the body ended early.
func isTruncation(err error, body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var syn *json.SyntaxError
	return errors.As(err, &syn) && (syn.Offset >= int64(len(body)) || syn.Error() == "unexpected end of JSON input")
}

// defaultBackoff is exponential from 50ms, doubling, capped at 30s, with jitter in [d/2, d] so
// that clients that failed together do not retry together. A lone 5xx or reset costs a few
// tens of milliseconds (a 1s first step made a 20% fault rate cost 20x the clean time); ten
// retries still ride out about as long an outage (26-51s) as six from 1s did (31-61s).
func defaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 30 * time.Second
	if attempt <= 10 {
		d = min(d, 50*time.Millisecond<<(attempt-1))
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || secs < 0 {
			return 0, false
		}
		return secondsToDuration(secs), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// parseReset reads X-RateLimit-Reset. Langfuse sends JavaScript's Date.toString()
// ("Tue Mar 03 2026 12:00:00 GMT+0000 (Coordinated Universal Time)"); other servers send epoch
// seconds or milliseconds, seconds until the reset, or HTTP/RFC 3339 dates.
func parseReset(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(n) || n < 0 || n > 1e15:
			return time.Time{}, false
		case n >= 1e12:
			return time.UnixMilli(int64(n)), true
		case n >= 1e9:
			return time.Unix(int64(n), 0), true
		default:
			return now.Add(secondsToDuration(n)), true
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if i := strings.Index(v, " ("); i >= 0 {
		v = v[:i]
	}
	if t, err := time.Parse("Mon Jan 02 2006 15:04:05 GMT-0700", v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func secondsToDuration(secs float64) time.Duration {
	const maxSecs = float64(math.MaxInt64 / int64(time.Second))
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(secs * float64(time.Second))
}

// observeLimits pauses the bucket as the response asks: until the reset when no request is
// left in the window, and for Retry-After on a retryable status.
func (c *Client) observeLimits(lim *limiter, r *attemptResult) {
	if r.header == nil {
		return
	}
	now := c.clock.Now()
	var until time.Time
	if rem, err := strconv.ParseFloat(strings.TrimSpace(r.header.Get("X-RateLimit-Remaining")), 64); err == nil && rem < 1 {
		if reset, ok := parseReset(r.header.Get("X-RateLimit-Reset"), now); ok && reset.After(now) {
			until = reset
		}
	}
	if r.status == http.StatusTooManyRequests || transientStatus(r.status) {
		// Langfuse's docs: Retry-After is authoritative.
		if ra, ok := parseRetryAfter(r.header.Get("Retry-After"), now); ok && ra > 0 {
			until = now.Add(ra)
		}
	}
	if until.IsZero() {
		return
	}
	if maxUntil := now.Add(c.maxWait); until.After(maxUntil) {
		until = maxUntil
	}
	lim.pause(until)
	if r.status == http.StatusTooManyRequests || transientStatus(r.status) {
		r.retryAfter = until.Sub(now)
	}
}
