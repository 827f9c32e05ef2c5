// Package selection decides what of a Langfuse project leaves: the trace
// filter (which traces, with everything attached to them) and the field
// groups of observations (which columns carry values). The exporter and the
// importer share it, so that a filter means the same on both sides; it knows
// lake rows (package schema), not the API or the lake's files.
//
// # Filters select traces
//
// Each criterion (trace name, user id, session id, tags any/all,
// environment, release, observation type, level, score name) is a set of
// values; a trace is selected when it meets every criterion given. Langfuse
// v4 keeps the trace context per observation row, so a criterion on a
// trace attribute is met when the trace row or any observation row of the
// trace carries a matching value; this is how the Langfuse UI and the v2
// observations API filter (per row, traceName, userId, sessionId,
// environment, release and traceTags being columns of each row). Tags "all"
// needs one row carrying all of them. Observation type and level are met by
// any observation of the trace, score name by any score on the trace (or on
// one of its observations).
//
// A selected trace comes with all its observations, scores, comments,
// annotation queue items, dataset run items and media; sessions follow the
// selected traces (a session is kept when one of its traces is), and so do
// scores and comments on them. Score configs, models, prompts, datasets,
// dataset items, dataset runs and annotation queues are chosen by the
// tables flag, not by the filter.
//
// # Field groups
//
// Groups are Langfuse's own v2 observation field groups (core, basic, time,
// io, metadata, model, usage, prompt, metrics). core and basic are always
// kept: their columns identify a row or are required (level, environment).
// A group left out keeps its columns, as null; io and metadata also blank
// the trace rows' input, output and metadata.
package selection
