// Package lfexport exports one Langfuse project into the lake: every table
// of package schema, from the v4 read API (Langfuse Cloud, self-hosted v4)
// or the v3 one (self-hosted v3), resumable after a crash and incremental.
// Export is the entry point; the command line, progress display and
// credentials belong to cmd/lakefuse, HTTP to internal/langfuse, files and
// manifests to hive. It must not import the importer.
//
// # What is read
//
// Both generations: score configs, custom models (Langfuse-managed ones are
// skipped), every version of every prompt unresolved (resolve=false),
// datasets, dataset items, annotation queues and their items, comments and
// media. v4: v2 observations with every field group (page size 1000, so a
// thousand observations cost one request), v3 scores, experiments and
// experiment items (as dataset_runs and dataset_run_items, listed over all
// time since they are snapshot tables). v3: traces, v1
// observations, sessions, v2 scores, dataset runs and run items.
//
// # Windows
//
// Time-partitioned listings (observations, traces, scores, sessions) are
// read in bounded windows, newest first. A one-item probe finds the newest
// row before the part already done, and the window is the UTC day holding
// it, so empty stretches cost one request and a window maps onto one dt
// partition. After a window of more than Options.MaxWindowRows rows the
// walk continues with 6-hour, then 1-hour windows. The run's range
// (--from/--to) is widened to whole UTC days (--to only when it lies in the
// past): a run then owns each dt partition it writes.
//
// # v4 traces and sessions
//
// v4 has no trace or session entity, and keeps the trace context per row.
// Each observation row keeps its own values; a trace row aggregates all rows
// of its trace as Langfuse does (traceagg.go): the earliest start time; the
// latest non-empty user, session, release, version and environment (latest
// by updatedAt, which stands for Langfuse's event_ts); the latest non-empty
// tags; public if any row is; the latest non-empty trace name, else the
// root's own name; the root's input and output. Metadata, bookmarked,
// html_path, latency, cost and the timestamps stay null. Memory stays flat:
// the listing is newest first, so a trace's children come before its root;
// a window keeps an aggregate only for the traces met and not yet written
// (the traces overlapping the current position) and the ids of traces it
// wrote. A trace is written once the listing passes its root's start time,
// so rows starting in the same millisecond as the root count; rows that
// start before their root are not folded in. Open traces carry into older
// windows (a trace across midnight) and are closed by their root there.
// Those still open at the end are checked with one request each: a root
// elsewhere (or observations before the run's range) means another row owns
// the trace; otherwise the row is derived from the aggregate, with null
// input and output. A trace with two parentless observations in different
// windows gets two rows: Langfuse's SDKs never produce that.
//
// The root Langfuse v4 synthesises for a trace of its v3 tables (id
// t-<traceId>, no parent, type SPAN) is kept as an observation with
// placeholder_root = true; being the trace's root, it gives the trace its
// name, input and output.
//
// A session row is one per session id, created_at being the earliest start
// time of its observations, written after the walk; its memory grows with
// the number of sessions, not of observations. A session the lake already
// holds in a partition this run keeps is not written again.
//
// # Media
//
// @@@langfuseMedia:type=…|id=…|source=…@@@ tokens in input, output and
// metadata (trace, observation) are found with the JSONPath of the string
// holding them; dataset items list theirs in mediaReferences. Each id is
// read once per run (GET /media/{id}) and its bytes copied once into
// _media/<id>, checked against the length and the id (the SHA-256 of the
// bytes); bytes already in the lake are not downloaded again. An id that is
// not 1–128 characters of [A-Za-z0-9_-] is never used as a key. --no-media
// keeps the rows (id, content type) without fetching anything.
//
// # Commit, supersede, resume
//
// Rows go through one hive.Run. The run supersedes (hive Run.Remove) every
// live file of an exported snapshot table of the project and every file of
// an exported time-partitioned table whose dt lies in the run's range, so a
// plain glob never sees a row twice, whatever sequence of full, windowed,
// incremental or repeated exports built the lake. Media rows are a snapshot
// fed by partitioned tables: rows of earlier runs whose trace or observation
// this run did not read are carried over.
//
// The work is a list of tasks (one per entity) and, inside windowed tasks,
// windows. After each finished task and window the run is synced and a
// checkpoint saved (hive.SaveCheckpoint) with the exporter's state: tasks
// done, how far each walk has come, open traces and sessions. Running the
// same export again (same source, tables and flags) resumes the newest
// checkpoint; files written after it are leftovers that hive.Clean deletes.
// Checkpoints of the same source with other flags are abandoned. A failure
// returns an error and commits nothing.
//
// Export holds the lake's lease (hive.AcquireLease) from before it reads the
// lake until it has committed, so two exports into one lake never plan from
// the same state: the second waits (Options.Lease.Wait) or refuses.
//
// # Incremental
//
// Options.Incremental starts at the UTC day of the last committed export's
// end minus Options.Lookback (DefaultLookback, 48 hours) and re-reads
// everything after it: late rows and updates are caught, and the partitions
// it rewrites replace the earlier files. Snapshot tables are re-exported
// whole every run. Continuous repeats an incremental export every
// Schedule.Every, one committed run per cycle.
//
// # Shards
//
// Options.Shard makes the run shard i of n of one export, run side by side
// with the others into one lake (shard.go). The window, from --from (required)
// and --to (default: the start of the current UTC day) widened to whole
// days, is split by hive.ShardWindow into n runs of whole days, so each shard
// owns the dt partitions of its days. Shard 1 also exports the snapshot
// tables; the media table is refused (it is one snapshot fed by every
// shard's traces, exported by one unsharded run afterwards). A v4 session is
// written by the shard whose days hold its earliest observation in the
// window (sessionsEarlier asks, in batches, which sessions began before the
// shard's days); a v4 trace by the shard holding its root, which folds in
// the trace's rows in later shards' days when the trace was still open at
// its end (foldLater, in batches). Each shard holds its own lease (hive.LeaseOptions.Shard),
// does not Clean, and leaves sibling shards' checkpoints alone; the manifest
// records the shard and the whole window (hive.Shard). Shard and
// Incremental exclude each other; an incremental run after an incomplete
// sharded export starts before its first missing shard.
//
// # Selection
//
// Options.Filter selects traces and Options.OmitFields leaves observation
// field groups out (filter.go, package internal/selection): a select task
// asks the server, with its own filters, which traces meet each criterion;
// the tables are then read as usual (traces and observations first) and rows
// of other traces dropped as they stream by. v2 observations are requested
// with only the groups kept. The manifest records both (hive.Selection).
//
// # Comments
//
// The comments API has no time filter: every comment is listed and those
// created in the run's range are kept.
package lfexport
