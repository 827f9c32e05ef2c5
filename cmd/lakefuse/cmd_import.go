package main

// ImportCmd imports a lake.
type ImportCmd struct {
	Location string `arg:"" help:"The lake to import."`
}

// Run is not built yet.
func (c *ImportCmd) Run(g *Globals) error { return errNotBuilt }
