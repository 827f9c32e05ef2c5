// Package schema defines the tables of the lake: one Go row type and one
// Arrow schema per table, the conversion between rows and Arrow record
// batches, the schema version, and the generator of docs/schema.md. It is the
// single source of truth for columns: a column exists because a row type
// declares it, with its description, and nowhere else.
//
// # Tables
//
// tables.go declares every table with Define, in the order the CLI and the
// docs list them. Each row type holds every field that the Langfuse v3 and v4
// read APIs return for its entity, named in snake_case after the API field;
// tables_test.go checks this against Langfuse's OpenAPI spec, so a field added
// to the API fails the tests until it has a column or a documented exception.
// Where v3 and v4 disagree (score values, experiment names, price encodings)
// the table's Doc says how both land in the same columns.
//
// The partition keys project_id and dt are never columns: they are in the
// path, and a row type has no field for them.
//
// # What it must not do
//
// schema does no I/O (the generator returns a string; its test writes the
// file) and imports no other lakefuse package. It does not know the Langfuse
// wire types or HTTP API: turning API responses into rows is the export
// sources' job, turning rows into requests the importer's. Partition paths,
// Parquet files and manifests belong to package hive.
package schema
