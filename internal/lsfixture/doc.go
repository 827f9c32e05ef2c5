// Package lsfixture makes LangSmith bulk exports for tests and benchmarks:
// run rows (from the public examples in testdata/examples and from a seeded
// generator of realistic traces), written as Parquet the way LangSmith
// writes them (format v1 with INT64 TIMESTAMP(NANOS, isAdjustedToUTC=false),
// v2_beta with UTC-adjusted timestamps, and the other physical types that
// readers of real exports report), under either documented path spelling.
//
// It only produces source data. It knows nothing about the lake or the
// conversion (package export/langsmith); tests compare the two.
package lsfixture
