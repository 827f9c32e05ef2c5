// Command derive regenerates internal/lfspec/openapi.yml from Langfuse's
// upstream OpenAPI spec (web/public/generated/api/openapi.yml of
// langfuse/langfuse, also served at /generated/api/openapi.yml):
//
//	go run ./internal/lfspec/derive -version v4.16.0 -commit 62751446149b702b419a9292ddfc2280cdf74b8c path/to/openapi.yml
//
// It writes the derived spec to -o (default internal/lfspec/openapi.yml,
// relative to the repository root it is run from).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lakefuse/lakefuse/internal/lfspec"
)

func main() {
	version := flag.String("version", "", "upstream Langfuse release the spec comes from, e.g. v4.16.0 (required)")
	commit := flag.String("commit", "", "langfuse/langfuse commit the spec comes from (required)")
	out := flag.String("o", filepath.Join("internal", "lfspec", "openapi.yml"), "where to write the derived spec")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: derive -version V -commit SHA [-o FILE] UPSTREAM_OPENAPI_YML")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *version == "" || *commit == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, lfspec.Source{Version: *version, Commit: *commit}); err != nil {
		fmt.Fprintln(os.Stderr, "derive:", err)
		os.Exit(1)
	}
}

func run(in, out string, src lfspec.Source) error {
	upstream, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	derived, err := lfspec.Derive(upstream, src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	// Write beside the target and rename, so a failed run leaves the old file.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, derived, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Printf("%s: %d bytes from %s (%d bytes), %s %s\n", out, len(derived), in, len(upstream), src.Version, src.Commit)
	return nil
}
