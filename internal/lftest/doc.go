// Package lftest is a Langfuse-compatible HTTP server for tests and for
// `lakefuse demo`, used like net/http/httptest: New (or NewServer), Start,
// URL, Close, or Handler for in-process use. It follows the real Langfuse
// server (its OpenAPI spec, carried in internal/lfspec, and its source,
// langfuse/langfuse), not any client's assumptions; it must not import package
// testing or lakefuse's Langfuse client. Test helpers live in lftesting.
//
// # Modes
//
// V4 imitates Langfuse v4 (Cloud, self-hosted events_only): GET
// /api/public/v2/observations (cursor, limit <= 1000, field groups),
// /api/public/v3/scores (cursor, limit <= 100), /experiments and
// /experiment-items. The legacy tracing reads (traces, v1 observations,
// sessions, v2 scores, dataset runs and run items) answer 404 with
// {"message": "This endpoint is not available on deployments running in
// Langfuse v4 events_only mode. ..."} before authentication, as
// createAuthedProjectAPIRoute does for routes with rejectInEventsOnlyMode.
//
// V3 imitates self-hosted v3: the legacy reads work and
// /api/public/v2/observations answers 404 {"message": "The observations v2
// API is only available in a Langfuse v4 write mode. ...", "error":
// "LangfuseNotFoundError"} after authentication. The experiments APIs answer
// the same way (an assumption: they read the v4 events table). v3 scores
// are served in both modes (self-hosted v3 has had them since v3.179).
//
// GET /api/public/scores (v1, trace scores, not in the spec) is served in
// v3 and refused in v4 like the other legacy reads. The `_deprecation`
// object that Langfuse Cloud adds to deprecated responses is not sent (the
// server behaves like a self-hosted deployment).
//
// Prompts, score configs, models, datasets and items, comments, annotation
// queues, media, projects and health are served in both modes.
//
// # Store
//
// A Project holds one project's data in memory. Tracing data follows the v4
// events model: observations are the rows, and each row carries its own
// trace context (trace name, user, session, tags, release, public, version,
// environment), as the events table does; rows of one trace may disagree.
// v2 observations serve each row's own values; trace-level values are
// aggregated over the rows (AggregateTrace). A Trace record is the trace
// entity of Langfuse v3 (what v3 traces and sessions serve). A write side
// (OTLP, /ingestion, create endpoints) adds data through Project.UpsertTrace,
// AddObservations (no deduplication, as in v4; the OTLP write sets each
// row's trace context from its own span), AddScores (upsert by id) and the
// other Add methods; reads see writes on the next request.
//
// Generate makes, besides ordinary traces, traces whose session or user is
// set on later child spans only, and (materialised projects) traces
// "migrated from v3" with a placeholder root t-<traceId>
// (Observation.Placeholder). V4 serves those rows; V3 leaves them out and
// serves their children as roots.
//
// A project made by Generate with Size.Lazy keeps only an index (a few bytes
// per trace): traces, observations and payloads are regenerated from the
// seed when served, so a million observations of ~2 KB cost tens of MB.
//
// A written project keeps its observations out of the Go heap (store.go):
// each row is encoded and appended to an unlinked temporary file, and the
// heap holds a 32-byte index entry per row (in fixed chunks, never copied
// to grow), the ids, and per snapshot the canonical, by-id and by-trace
// orders (4 bytes each); a row is decoded when served. Trace payloads over
// 64 bytes (a v4 trace carries its root's input and output) go to a second
// such file. Experiment rows keep only what the experiment summary adds up.
// About 75 bytes of heap per observation, whatever its size (store_test.go
// TestStoreMemoryPerObservation): `lakefuse demo` imports a million
// observations into this server in its own process. Project.Close releases
// the files (otherwise the garbage collector does).
//
// # Behaviour details
//
//   - Auth: HTTP Basic public:secret key. Errors are 401 {"message": ...} with
//     the real server's messages ("Invalid public key. Confirm that you've
//     configured the correct host." ...). A Bearer public key is 403.
//   - Page pagination: page >= 1, 1 <= limit <= 100 (prompts: default 10),
//     meta {page, limit, totalItems, totalPages}; invalid values are 400
//     {"message": "Invalid request data", "error": [zod issues]}.
//   - v2 observations: order start_time DESC, xxHash32(trace_id) DESC, id
//     DESC; the cursor is base64 JSON {lastStartTimeTo, lastTraceId, lastId};
//     fromStartTime inclusive, toStartTime exclusive; unknown field groups are
//     dropped; io values are the stored strings; metadata values are strings,
//     cut to 200 characters unless io is requested or the key is in
//     expandMetadata; modelId and prices (decimal strings) are null unless
//     the model group is requested. `filter` replaces the other filters.
//   - Metadata everywhere is ClickHouse-shaped: top-level keys with string
//     values; the legacy APIs parse each value back when it is JSON.
//   - Rate limits (Options.RateLimits, per bucket, fixed windows) answer 429
//     with Retry-After, X-RateLimit-Limit/Remaining/Reset and {"message":
//     "Rate limit exceeded", "code": "rate_limited", "details": {...}}.
//   - Faults (Options.Faults, SetFaults): 429, 500, 502, 503, connection
//     reset, slow and truncated responses, at seeded rates or scripted.
//   - Stats counts requests per route pattern, faults and rate limiting.
//   - Media: GET /api/public/media/{id} returns a signed URL on this server
//     (/_media/...), which serves the bytes until it expires (one hour).
//
// # Write side
//
// POST /api/public/otel/v1/traces takes protobuf or JSON, gzipped or not,
// and maps spans as NOTES.md §3 describes (otlp.go): every langfuse.*
// attribute, the observation-type decision (langfuse.observation.type,
// gen_ai.operation.name, tool and model attributes; the framework-specific
// mappers are not imitated), millisecond times, normalised environments, the
// metadata shape {attributes, resourceAttributes, scope, ...} (trace metadata
// merged in on v4, generated keys winning on v3), trace attributes merged
// per span, langfuse.trace.input/output honoured only in V3 mode, and
// langfuse.experiment.* attributes recorded as runs and run items in V4
// mode. Like v4, nothing is deduplicated: a span sent twice is two rows.
// POST /api/public/ingestion answers 207 per event and implements
// score-create (id, envelope timestamp and source kept; upsert by id) and,
// in V3 mode, trace-create (h_legacy.go: merged with the trace events v3
// makes of spans). What
// the real worker refuses later (see the table below) is answered success
// and not stored, as the real server does. Other event types get a
// per-event error. The create
// endpoints (h_write.go) assign ids, prompt versions (latest + 1, labels
// moved, latest automatic, dependencies checked) and media ids (from the
// SHA-256) as the real server does; media bytes go to a presigned PUT URL on
// this server. Dataset run items are stored in V3 mode and answered
// synthetically in V4 mode, which stores nothing.
//
// # Behaviour → real source (langfuse/langfuse 6275144)
//
//	score-create: schema errors are per-event 400s in the 207          packages/shared/src/server/ingestion/types.ts (ScoreBody)
//	score-create: 207, then dropped when the config is archived, not
//	  found or of another type, the value is outside min/max, the label
//	  not a category, or ANNOTATION without configId (not CORRECTION)   packages/shared/src/server/ingestion/validateAndInflateScore.ts,
//	                                                                    packages/shared/src/domain/scores.ts, worker/src/services/IngestionService/index.ts
//	score-create: the config's name replaces the body's                validateAndInflateScore.ts
//	POST /models: unit required (400 without), reads may return null    web/src/features/public-api/types/models.ts (PostModelsV1Body)
//	GET prompt: the whole row (id, projectId, createdAt, updatedAt,
//	  createdBy, …) plus resolutionGraph                               packages/shared/src/server/services/PromptService/index.ts,
//	                                                                    packages/shared/prisma/schema.prisma (model Prompt)
//	GET prompt: isActive = labels include "production"                 web/src/features/prompts/server/handlers/promptNameHandler.ts
//	models: no projectId, no updatedAt                                  web/src/features/public-api/types/models.ts (prismaToApiModelDefinition)
//	POST /media: contentLength must be positive                        web/src/features/media/validation.ts
//	Options.AzureMedia: Azure SAS upload URLs; a PUT without
//	  x-ms-blob-type: BlockBlob is refused (400 MissingRequiredHeader)  packages/shared/src/server/services/StorageService.ts
//	v2 observations: each row's own userId, sessionId, tags, release,
//	  public (trace context kept per row)                               packages/shared/src/server/repositories/observations_converters.ts
//	                                                                    (convertEventsObservation), worker/src/services/IngestionService/index.ts
//	v2 traceName: the row's trace_name, else a root's own name, ''
//	  as null                                                           packages/shared/src/eventsTable.ts (eventsTableTraceNameSql)
//	AggregateTrace: argMaxIf by event_ts, trace name rule, the root's
//	  input/output, max(public)                                         packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts
//	                                                                    (EVENTS_AGGREGATION_FIELDS), packages/shared/src/eventsTable.ts
//	placeholder root t-<traceId> (SPAN, no end, the trace's name,
//	  input, output, metadata), former roots its children; V3 hides it  worker/src/backgroundMigrations/createRootSpansFromTraces.ts,
//	                                                                    packages/shared/src/server/repositories/definitions.ts,
//	                                                                    worker/src/features/eventPropagation/handleEventPropagationJob.ts
//	OTLP write: metadata.tools moves into the input (reshape.go)        packages/shared/src/server/ingestion/extractToolsBackend.ts
//	                                                                    (normalizeToolMetadataForObservation)
//	GET /projects: retentionDays left out when null or 0                web/src/pages/api/public/projects/index.ts
//	v2 observations filter: release is a column (string)              packages/shared/src/eventsTable.ts (eventsTableCols)
//	OTLP write, V4: nested metadata flattened into dotted string keys
//	  (reshape.go)                                                      packages/shared/src/server/otel/utils.ts (flattenJsonToPathArrays)
//	OTLP/JSON ids: strings verbatim, byte arrays and
//	  {"type":"Buffer"} as hex; absent or other shapes refuse the
//	  whole request; a falsy parentSpanId is no parent                  packages/shared/src/server/otel/OtelIngestionProcessor.ts parseId,
//	                                                                    packages/shared/src/server/otel/utils.ts getOtelIdRejectionReason,
//	                                                                    web/src/pages/api/public/otel/v1/traces/index.ts
//	v3: spans become trace-create events (root: name ?? span name,
//	  metadata absorbs the observation's, I/O falls back to the
//	  observation's; updates: version and release ?? null)              OtelIngestionProcessor.ts processSpan, createTraceEvent,
//	                                                                    hasTraceUpdates, filterRedundantShallowTraces
//	v3: trace events merged by timestamp, null overwrites, public ??
//	  false, tags union, metadata by key, last non-empty I/O            worker/src/services/IngestionService/index.ts processTraceEventList,
//	                                                                    toTimeSortedEventList; .../IngestionService/utils.ts overwriteObject
//	v3: trace-create on /api/public/ingestion (h_legacy.go)            same, via packages/shared/src/server/ingestion/processEventBatch.ts
//	v4 events_only refuses trace and observation events on
//	  /api/public/ingestion                                             web/src/pages/api/public/ingestion.ts filterBatchForEventsOnly
//	v4: experiment aggregates over every row with an experiment id
//	  (Project.ExperimentSummary); an item is the row whose span id
//	  is its root_observation_id                                        packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts
//	                                                                    EXPERIMENTS_AGGREGATION_FIELDS, packages/shared/src/server/repositories/experiments.ts
//
// # OpenAPI validation
//
// Validator checks every /api/public request and response against the spec
// (kin-openapi) against the spec LoadSpec is given: the tests give it the
// one the repository carries (internal/lfspec, derived from Langfuse's
// official spec), or the file $LAKEFUSE_OPENAPI names. LoadSpec documents
// the small spec fixes kin-openapi needs.

package lftest
