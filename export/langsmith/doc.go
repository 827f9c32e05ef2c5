// Package langsmith converts LangSmith bulk exports (Hive-partitioned
// Parquet files of runs, on S3, GCS, MinIO or a disk) into the lake's
// traces, observations, scores and sessions tables, through a hive.Run. It
// also converts raw LangSmith feedback (JSON or JSON lines, as the feedback
// API returns it) into scores.
//
// It owns the reading of the export (layout, schema tolerance, duplicates
// across exports) and the mapping of runs onto Langfuse's model. It does
// not open locations, commit runs or print: the command does that. It must
// not import the importer; the lake is where the two meet.
//
// # Reading
//
// SOURCE may be any level of
//
//	export_id=…/tenant_id=…/session_id=…/(runs|resource=runs)/year=…/month=…/day=…/*.parquet
//
// with padded or unpadded numbers, several exports and several files per
// day. Objects under tmp/, in other resources and not named *.parquet are
// ignored. Partition values come from the location and the key; the
// session_id and tenant_id columns stand in when the path lacks them.
// Columns are found by name; any subset of the 29 export fields may be
// present, in any physical type that can hold the value (see columns.go):
// timestamps as INT64 NANOS not UTC-adjusted (format v1) or adjusted
// (v2_beta), MICROS, MILLIS, INT96, ISO text or epoch numbers, all read as
// UTC; costs as DOUBLE, DECIMAL or text; JSON fields as text or as Parquet
// lists and structs; run_type and status in any case.
//
// # Duplicates, orphans and memory
//
// LangSmith partitions runs by the day of their start_time, which does not
// change when a later export includes the run again. So all rows of a run
// are in the files of one project and day, across exports. Open reads only
// the id, end_time and status columns of each project-day's files and picks
// each run's winning row: a complete one (end_time set, status not pending)
// over an incomplete one, then the one from the later file (modification
// time), then the later end_time. Convert then streams the files one
// project-day at a time, skipping the losing rows, and finishes the lake's
// files after each project-day.
//
// Memory is one record batch per file being read, the open lake files of
// one project-day, a map of the current project-day's ids (about 50 bytes
// per run of that day), and one set over the whole export: 8 bytes (plus
// map overhead, about 20 bytes in all) per run id, which is what lets the
// orphan check be exact. Sessions are kept per Langfuse session (thread),
// feedback targets per feedback record.
//
// A run whose parent_run_id is in no export of SOURCE (its parent started
// in a window that was not exported) is kept and counted as an orphan: it
// becomes a top-level observation of its trace (parent_observation_id null,
// so every Langfuse view shows it) and its metadata keeps
// langsmith.parent_run_id and langsmith.orphan=true. A trace whose root run
// is in no export gets a traces row from its first orphan, marked
// langsmith.root_run_missing=true; its name, input and output are unknown.
//
// # Mapping
//
// See mapping.go and docs/langsmith.md. In short: a trace per trace_id from
// its root run; every run an observation; llm GENERATION, embedding
// EMBEDDING, tool TOOL, retriever RETRIEVER, chain CHAIN, anything else SPAN;
// usage and cost only on GENERATION and EMBEDDING, because LangSmith rolls
// children's tokens up into chains and roots; the Langfuse session from the
// session_id, thread_id or conversation_id metadata key; the LangSmith
// project (session_id) as the lake's project_id. Ids: see ids.go.
package langsmith
