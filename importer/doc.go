// Package importer replays a lake into a Langfuse project: observations (and
// with them traces and sessions) as OTLP/HTTP (protobuf, or JSON for
// spans whose ids are not OTel hex), everything else
// through the REST API, exactly once, resumably.
//
// # Order
//
// Score configs (matched by name, archived state kept), custom models,
// prompts (ascending versions, dependencies first, gaps filled with
// placeholders so that numbers line up), datasets (upsert by name), dataset
// items (ids kept), annotation queues, media (bytes uploaded again; Langfuse
// derives the id from the bytes, so it stays), observations, dataset run
// items, scores, annotation queue items, comments. Queues come before scores
// and run items before scores because scores refer to both; see Order.
// Score configs stay active until the end and the lake's archived ones are
// archived last (Langfuse's worker drops scores on archived configs); scores
// the worker would drop anyway are skipped before sending, with the reason
// in the summary and the ledger.
//
// # Read-back
//
// The import ends by reading back what the destination kept (readback.go):
// scores and observations by id, the created objects by the ids in the
// ledger, within the --wait bound for asynchronous ingestion; a shortfall
// fails the import with ErrIncomplete, naming table, count and ids.
//
// # Observations
//
// Each observation is one span: the original type (never collapsed to
// span), start and end times, level, status message, model, parameters,
// usage and cost details, completion start, prompt name and version,
// environment, version, metadata and input/output verbatim. Trace
// attributes (name, user, session, tags, public flag, release) are the
// row's own for a v4 lake (v4 keeps them per row) and the traces row's for
// a v3 lake; the trace's metadata, and for v3 destinations its input and
// output, go on the root span only, because v4 merges trace metadata into
// the metadata of every span that carries it.
//
// Ids travel verbatim (ids.go): spans whose ids are lowercase OTel hex go
// as OTLP protobuf, the others as OTLP/JSON (spanjson.go), whose string ids
// Langfuse keeps. Options.RewriteIDs (--rewrite-ids) hashes non-hex ids
// instead and records each changed id in the ledger (idmap-*.jsonl).
//
// Placeholder roots: Langfuse v4 gives legacy traces a root row
// t-<traceId> (isPlaceholderRoot). Into v4 such a row travels like any
// other; into v3 it is not sent and its children become roots. A v4
// destination also gets a placeholder (placeholderSpan) for each trace of a
// v3 lake that has input or output (v4 keeps no trace I/O; the trace's
// roots become the placeholder's children, as Langfuse's own migration
// does) and for each trace without observations.
//
// v3 destinations: after the spans, each trace goes once more as a
// trace-create ingestion event stamped with the import time
// (tracecreate.go), which overrides what v3 derived from the spans
// (versions and names set to null by later spans, the root's name).
//
// Dataset run items reach a v4 destination as langfuse.experiment.*
// attributes of every span of their trace (as the SDKs propagate them), and
// a v3 destination through the run items endpoint with the original
// createdAt.
//
// # Exactly once
//
// Langfuse v4 does not deduplicate: a span sent twice is two observations.
// The ledger (ledger.go) records, per destination project, every request
// that is not an idempotent upsert twice: an intent before sending and a
// completion after. A request whose outcome is unknown (a timeout or a
// connection lost after sending, or a run killed with -9 between the two
// records) is looked up in the destination before it is sent again: at
// once for objects Langfuse keeps in Postgres (visible when answered); for
// spans, which it ingests asynchronously, also while the ingestion lag it
// showed on accepted batches has not passed (at most --wait). A rerun looks
// up all of the earlier run's open requests together and waits for the
// missing ones once. Scores (ingestion score-create keeps their id),
// datasets, dataset items and media are upserts and are simply sent again;
// they, comments and annotation queue items go --concurrency at a time.
//
// The importer reads the lake through package hive and talks to Langfuse
// through internal/langfuse. It must not import the exporter: the two meet
// only in the lake.
package importer
