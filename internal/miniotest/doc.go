// Package miniotest runs a real MinIO server for tests of S3 code.
//
// It finds the minio binary through LAKEFUSE_MINIO_BIN, then PATH, then the
// newest build cached by .ci/install-minio under
// $HOME/.cache/lakefuse/minio-*/minio. Without one, tests skip, except when
// CI=true: there a missing server must never pass silently, so they fail.
//
// Start gives a test its own server; Shared gives every test of a package one
// server (its TestMain calls Main), and NewBucket keeps the tests apart. The
// server listens on 127.0.0.1 only, keeps its data in a temporary directory,
// and is stopped (or, on Linux, killed with the test binary) at the end.
//
// It is test plumbing: it owns no production behaviour and must not be
// imported outside tests.
package miniotest
