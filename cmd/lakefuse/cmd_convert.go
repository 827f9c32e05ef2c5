package main

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
