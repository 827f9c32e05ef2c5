// Package export is the home of lakefuse's sources: packages that read data
// from elsewhere and write it into the lake through package hive.
//
//   - export/lfexport exports a Langfuse project (v3 or v4 read API).
//   - export/langsmith converts LangSmith bulk exports.
//
// A source turns its input into schema rows and appends them to a hive.Run;
// it does not parse command lines or print (package main does) and never
// imports the importer: the two meet only in the lake.
package export
