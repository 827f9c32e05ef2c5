package lfexport

import (
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

func TestExportEqualsServer(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(7, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			b := bucket.NewMemory()
			export(t, b, Options{Client: client(t, s, k)})
			want := expectV4(p, true)
			if mode == lftest.V3 {
				want = expectV3(p, true)
			}
			for _, tab := range schema.Tables() {
				if len(want[tab.Name]) == 0 {
					t.Errorf("the generated project has no %s: the comparison would not cover them", tab.Name)
				}
			}
			compareLake(t, readLake(t, b), want)
		})
	}
}
