// Package lfspec carries the Langfuse public API's OpenAPI spec that the
// tests validate every request and response against, so that a clone of
// this repository is all the tests need.
//
// openapi.yml is derived from Langfuse's official spec
// (web/public/generated/api/openapi.yml in langfuse/langfuse, served at
// /generated/api/openapi.yml by every Langfuse): the same paths, methods, parameters,
// request bodies, responses, schemas, types, formats, enums, required and
// nullable fields, with the prose (descriptions and schema titles) left out.
// Its header names the upstream version and commit it was derived from.
//
// # Refreshing
//
// When Langfuse releases a new API, derive the file again from the new
// upstream spec and run the tests:
//
//	go run ./internal/lfspec/derive -version v4.17.0 -commit <sha> path/to/openapi.yml
//	go test ./...
//
// # Another spec
//
// $LAKEFUSE_OPENAPI, when set, names a spec file (upstream or derived) that
// Load reads instead of the embedded one, to check the tool against a newer
// API without deriving it first.
package lfspec
