// Package readertest reads a lake with the Parquet readers analysts use
// outside Go, to prove that every table opens in them with no error and no
// warning: nodejs-polars (Polars' Rust core, the same one Python Polars
// uses) with Hive partitioning, and hyparquet (pure JavaScript) with the
// partition columns taken from the path. With the duckdb build tag, DuckDB
// is compared the same way. Row counts, project ids and a few values of each
// table must match what lakefuse's own reader (hive) reads.
//
// The JavaScript readers are npm packages that .ci/install-node-readers
// installs once under $HOME/.cache/lakefuse/node-readers-*; the test finds
// them through LAKEFUSE_NODE_READERS (a directory holding node_modules), then
// that cache. Without node or the packages the test skips, except under
// CI=true, where a missing reader must never pass silently: it fails.
//
// It is test plumbing and owns no production behaviour.
package readertest
