package main

// MigrateCmd exports then imports.
type MigrateCmd struct {
	Location string `arg:"" help:"The lake that carries the data between the projects."`
}

// Run is not built yet.
func (c *MigrateCmd) Run(g *Globals) error { return errNotBuilt }
