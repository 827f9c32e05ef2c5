// Package langfuse is the HTTP client of the Langfuse public API: the only code of lakefuse
// that talks to Langfuse. It owns authentication, the wire types (types.go), pagination,
// retries, rate-limit pacing and the detection of the server's read API (v3 or v4).
//
// It must not know about the lake: turning wire types into rows is the exporter's job, turning
// rows into requests the importer's. It never logs or returns the secret key.
//
// # Listings
//
// List methods take a query and a callback that receives one page at a time; the next page is
// requested only after the callback returns, so memory stays flat whatever the size of the
// project. Page/limit listings report the server's total through PageOptions.OnTotal; cursor
// listings report each next cursor through CursorOptions.OnCursor, to checkpoint and resume.
//
// # Retries, rate limits and writes
//
// Each endpoint belongs to a rate-limit bucket of Langfuse (Bucket). Per bucket the Client
// caps the requests in flight (Config.Concurrency) and pauses every caller of the bucket when
// the server says so: Retry-After on 429/5xx, or X-RateLimit-Remaining 0 until
// X-RateLimit-Reset. Reads and idempotent writes are retried with exponential backoff and
// jitter on 429, 408, 500, 502, 503, 504, Cloudflare's 520–524, connection failures, timeouts
// and response bodies cut short. Writes that are not idempotent are resent only when Langfuse cannot have processed
// them; otherwise the error wraps ErrOutcomeUnknown and the caller checks the destination.
//
// # Escaping
//
// Path parameters (prompt and dataset names with "/", spaces or any Unicode) are escaped
// segment by segment: a name is always exactly one path segment.
//
// # Unknown fields
//
// Every read type keeps the JSON members it does not declare in its Extra map, verbatim, and
// the Client logs each new member once: a Langfuse release that adds fields loses nothing.
package langfuse
