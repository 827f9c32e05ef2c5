package main

// ExportCmd exports a Langfuse project.
type ExportCmd struct {
	Location string `arg:"" help:"Where the lake is: a path, file://, s3://bucket/prefix or gs://bucket/prefix."`
}

// Run is not built yet.
func (c *ExportCmd) Run(g *Globals) error { return errNotBuilt }
