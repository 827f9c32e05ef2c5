package main

import "errors"

var errNotBuilt = errors.New("not built yet: this command lands in a later release of lakefuse")

// ExportCmd exports a Langfuse project.
type ExportCmd struct {
	Location string `arg:"" help:"Where the lake is: a path, file://, s3://bucket/prefix or gs://bucket/prefix."`
}

// Run is not built yet.
func (c *ExportCmd) Run(g *Globals) error { return errNotBuilt }

// ImportCmd imports a lake.
type ImportCmd struct {
	Location string `arg:"" help:"The lake to import."`
}

// Run is not built yet.
func (c *ImportCmd) Run(g *Globals) error { return errNotBuilt }

// MigrateCmd exports then imports.
type MigrateCmd struct {
	Location string `arg:"" help:"The lake that carries the data between the projects."`
}

// Run is not built yet.
func (c *MigrateCmd) Run(g *Globals) error { return errNotBuilt }

// ConvertCmd converts other tools' exports.
type ConvertCmd struct {
	Langsmith ConvertLangsmithCmd `cmd:"" help:"Convert a LangSmith bulk export (Parquet runs) into a lake."`
}

// ConvertLangsmithCmd converts a LangSmith bulk export.
type ConvertLangsmithCmd struct {
	Source   string `arg:"" help:"The LangSmith bulk export: a path, s3:// or gs:// location at any level of export_id=…/tenant_id=…/session_id=…/."`
	Location string `arg:"" help:"The lake to write."`
}

// Run is not built yet.
func (c *ConvertLangsmithCmd) Run(g *Globals) error { return errNotBuilt }

// VerifyCmd checks a lake.
type VerifyCmd struct {
	Location string `arg:"" help:"The lake to check."`
}

// Run is not built yet.
func (c *VerifyCmd) Run(g *Globals) error { return errNotBuilt }
