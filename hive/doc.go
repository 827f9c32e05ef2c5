// Package hive owns the lake as a Hive-partitioned dataset on a bucket: the
// partition paths, the rolling Parquet writer, the manifests that commit a
// run, checkpoints for resuming one, cleanup of files no manifest lists, and
// the reader that streams a table's record batches.
//
// # Layout
//
//	<table>/project_id=<id>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet   time-partitioned tables
//	<table>/project_id=<id>/part-<run>-<seq>.parquet                 snapshot tables
//	_media/<media id>                                                 media bytes
//	_lakefuse/manifests/<run>.json                                    one per committed run
//	_lakefuse/checkpoints/<run>.json                                  runs that can resume
//
// # Escaping
//
// Partition values are escaped like Hive's FileUtils.escapePathName, which
// Spark copies and DuckDB decodes: the characters " # % ' * / : = ? \ { [ ] ^,
// control characters and DEL become %XX (upper-case hex); everything else,
// spaces and non-ASCII letters included, is kept. An empty value is written as
// __HIVE_DEFAULT_PARTITION__. Bytes of invalid UTF-8 are escaped as well, so
// any string, however hostile ("../x", "a/b", "%41"), maps to one safe path
// segment and back.
//
// # Commit
//
// A run writes its data files first and its manifest last; the manifest is
// the commit point. The live files of the lake are those listed by a
// committed manifest and not removed by a later one, so a plain glob over a
// table never sees a half-written run once Clean has removed leftovers.
//
// hive knows tables through package schema and bytes through package bucket;
// it knows nothing of Langfuse or LangSmith.
package hive
