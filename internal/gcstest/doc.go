// Package gcstest runs a Google Cloud Storage emulator for tests of GCS code:
// fake-gcs-server (github.com/fsouza/fake-gcs-server/fakestorage), in the
// test process, speaking the JSON API on 127.0.0.1 over plain HTTP. Nothing
// is downloaded, so it is always there; if it cannot start, tests skip, except
// when CI=true: there a missing emulator must never pass silently, so they
// fail, as with internal/miniotest.
//
// Env points the official client at it through STORAGE_EMULATOR_HOST (which
// also turns signing in off); NewBucket gives each test its own bucket.
//
// It is test plumbing: it owns no production behaviour and must not be
// imported outside tests.
package gcstest
