package hive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// A manifest from a newer lakefuse names the version that is too new: the
// manifest's layout or the lake schema.
func TestNewerManifestNamesTheVersion(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name        string
		set         func(*Manifest)
		want, wrong string
	}{
		{"manifest version", func(m *Manifest) { m.ManifestVersion = 99 }, fmt.Sprintf("manifest version 99 (this lakefuse reads up to %d)", ManifestVersion), "schema version"},
		{"schema version", func(m *Manifest) { m.SchemaVersion = 99 }, fmt.Sprintf("schema version 99 (this lakefuse reads up to %d)", schema.Version), "manifest version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bucket.NewMemory()
			m := writeRun(t, b, RunOptions{}, []string{"p"}, genEvents(3))
			m2 := *m
			m2.RunID = NewRunID(time.Now())
			m2.Files = nil
			c.set(&m2)
			if err := WriteManifest(ctx, b, &m2); err != nil {
				t.Fatal(err)
			}
			_, err := Open(ctx, b)
			if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.wrong) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}
