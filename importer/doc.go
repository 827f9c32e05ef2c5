// Package importer replays a lake into a Langfuse project: observations (and
// with them traces and sessions) as OTLP/HTTP protobuf, everything else
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
// # Selection and preflight
//
// Options.Filter, From and To select traces from a full lake (select.go);
// a lake exported without field groups is refused unless AllowPartial.
// Before anything is sent, the preflight (preflight.go) measures the rows to
// send against the destination: rows older than its retention (refused
// unless YesOldData), the billable units, and the rows it already holds
// (refused unless AllowNonEmpty, when the ledger is fresh).
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
// environment, version, metadata and input/output verbatim; the trace's
// name, user, session, tags, public flag and release on every span; the
// trace's metadata, and its input and output (as langfuse.trace.input/output
// for v3 destinations, as the root's own I/O where the root has none for v4,
// which keeps no trace I/O), on the root span only, because v4 merges trace
// metadata into the metadata of every span that carries it. Trace ids that
// are OTel hex are kept, UUIDs lose their dashes, anything else becomes
// sha256(id)[:32]; span ids are kept when hex, else sha256(id)[:16]. Every
// changed id is recorded in the ledger (idmap-*.jsonl). A v3 trace without
// observations gets one root span (id sha256("lakefuse-trace-root:"+id)).
// Dataset run items reach a v4 destination as langfuse.experiment.*
// attributes of their spans and a v3 destination through the run items
// endpoint with the original createdAt.
//
// # Exactly once
//
// Langfuse v4 does not deduplicate: a span sent twice is two observations.
// The ledger (ledger.go) records, per destination project, every request
// that is not an idempotent upsert twice: an intent before sending and a
// completion after. A request whose outcome is unknown (a timeout or a
// connection lost after sending, or a run killed with -9 between the two
// records) is looked up in the destination, waiting a bounded time for
// asynchronous ingestion, before it is sent again. Scores (ingestion
// score-create keeps their id), datasets, dataset items and media are
// upserts and are simply sent again.
//
// The importer reads the lake through package hive and talks to Langfuse
// through internal/langfuse. It must not import the exporter: the two meet
// only in the lake.
package importer
