package lftest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultKind is a failure the server can inject.
type FaultKind string

// Fault kinds.
const (
	FaultNone FaultKind = ""
	// Fault429 answers 429 with Retry-After and X-RateLimit-* headers and the
	// real rate-limit body.
	Fault429 FaultKind = "429"
	// Fault500 answers 500 with the real server's internal-error body.
	Fault500 FaultKind = "500"
	// Fault502 answers 502 with an HTML body, as a proxy in front would.
	Fault502 FaultKind = "502"
	// Fault503 answers 503 {"message":"Service Unavailable"}.
	Fault503 FaultKind = "503"
	// FaultReset closes the connection without a response (TCP RST).
	FaultReset FaultKind = "reset"
	// FaultSlow delays the response by Faults.SlowDelay, then answers normally.
	FaultSlow FaultKind = "slow"
	// FaultTruncate sends the headers (with the full Content-Length) and half
	// of the body, then closes the connection.
	FaultTruncate FaultKind = "truncate"
)

// FaultKinds lists the kinds in the order rates are applied.
var FaultKinds = []FaultKind{Fault429, Fault500, Fault502, Fault503, FaultReset, FaultSlow, FaultTruncate}

// Faults configures fault injection. For each eligible request the injector
// first takes the next entry of Script, then, when the script is used up,
// draws from Rates with a generator seeded by Seed, so a run is reproducible
// for a given order of requests.
type Faults struct {
	Seed int64
	// Rates is the probability of each kind per eligible request; their sum
	// must not exceed 1.
	Rates map[FaultKind]float64
	// Script lists the faults of the first eligible requests, in order
	// (FaultNone lets a request through).
	Script []FaultKind
	// Match selects eligible requests; nil means every /api/public request
	// except /api/public/health.
	Match func(*http.Request) bool
	// RetryAfter of injected 429s; default 1s.
	RetryAfter time.Duration
	// SlowDelay of slow responses; default 2s.
	SlowDelay time.Duration
}

type faultInjector struct {
	mu     sync.Mutex
	f      Faults
	rng    *rand.Rand
	script int
}

func newFaultInjector(f Faults) *faultInjector {
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	if f.SlowDelay <= 0 {
		f.SlowDelay = 2 * time.Second
	}
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(uint64(f.Seed), 0x1f7e57))}
}

// SetFaults replaces the fault configuration and restarts its random stream
// and script.
func (s *Server) SetFaults(f Faults) {
	fresh := newFaultInjector(f)
	s.faults.mu.Lock()
	s.faults.f, s.faults.rng, s.faults.script = fresh.f, fresh.rng, 0
	s.faults.mu.Unlock()
}

func (fi *faultInjector) pick(r *http.Request) (FaultKind, Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	eligible := f.Match != nil && f.Match(r)
	if f.Match == nil {
		eligible = strings.HasPrefix(r.URL.Path, "/api/public/") && r.URL.Path != "/api/public/health"
	}
	if !eligible {
		return FaultNone, f
	}
	if fi.script < len(f.Script) {
		fi.script++
		return f.Script[fi.script-1], f
	}
	if len(f.Rates) == 0 {
		return FaultNone, f
	}
	u := fi.rng.Float64()
	acc := 0.0
	for _, k := range FaultKinds {
		acc += f.Rates[k]
		if u < acc {
			return k, f
		}
	}
	return FaultNone, f
}

func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, f := s.faults.pick(r)
		if kind != FaultNone {
			s.stats.fault(kind)
		}
		switch kind {
		case Fault429:
			writeRateLimited(w, f.RetryAfter, 1000, 0, s.now())
		case Fault500:
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error", "error": "An unknown error occurred"})
		case Fault502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
		case Fault503:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
		case FaultReset:
			resetConn(w)
		case FaultSlow:
			sleepCtx(r.Context(), f.SlowDelay)
			next.ServeHTTP(w, r)
		case FaultTruncate:
			buf := newBufferedResponse()
			next.ServeHTTP(buf, r)
			buf.copyHeaders(w)
			body := buf.body.Bytes()
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(buf.status)
			_, _ = w.Write(body[:len(body)/2])
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			resetConn(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// resetConn closes the client connection abruptly. Without a hijackable
// connection it aborts the handler, which net/http also turns into a closed
// connection.
func resetConn(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	flushHijacked(buf)
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func flushHijacked(buf *bufio.ReadWriter) {
	if buf != nil {
		_ = buf.Flush()
	}
}
