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
//	_lakefuse/staging/<run>/<path>                                    files of runs not yet moved into place
//	_lakefuse/lease/<generation>.json                                 the lake's lease
//	_lakefuse/lease-shards/<i>/<generation>.json                      the lease of shard i of a sharded export
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
// A run writes its data files under _lakefuse/staging/<run>/ first and its
// manifest last; the manifest is the commit point. Then the files move into
// place (Publish finishes a move a crash interrupted), partition by
// partition, new files before the superseded ones are deleted. The live files
// of the lake are those listed by a committed manifest and not removed by a
// later one, so a plain glob over a table never sees a run that did not
// commit. Compact merges small files as a run that supersedes them;
// Duplicates finds rows that two live files hold.
//
// # Lease
//
// One run changes a lake at a time: AcquireLease creates the next
// generation of _lakefuse/lease/ with bucket.Create (exclusive), renews it,
// and hands the holder a context that ends if it is lost; Run.Commit checks
// it before writing the manifest. An expired lease, or one whose holder's
// process is gone on this machine, is taken over; Clean, run by the holder,
// then deletes what dead runs left, never what a live run may commit.
//
// A shard of a sharded export takes the lease of its index instead
// (LeaseOptions.Shard, under _lakefuse/lease-shards/), so the shards of one
// export (one LeaseOptions.Group) run side by side. The lake's lease and the
// shards' leases are different objects: a run takes its own, then looks at
// the others (conflict) and gives its own up if one excludes it, so of two
// runs that exclude each other at least one sees the other; a dead holder's
// lease is fenced with a newer, released generation. Shards do not Clean.
//
// # Shards
//
// ShardWindow splits a window of whole UTC days into n runs of whole days,
// so each dt partition belongs to one shard. A shard's manifest records
// Shard (its index, the count and the whole window); IncompleteShards finds
// sharded exports a shard of which never committed.
//
// hive knows tables through package schema and bytes through package bucket;
// it knows nothing of Langfuse or LangSmith.
package hive
