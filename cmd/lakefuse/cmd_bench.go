package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lakefuse/lakefuse/internal/bench"
)

// BenchCmd measures lakefuse on generated data and prints a table. Every
// measurement runs in a fresh child process, so that its peak RSS is its own.
type BenchCmd struct {
	Rows    []int  `help:"Observation counts to measure." default:"100000,1000000"`
	Payload int    `help:"JSON payload bytes per observation." default:"2000"`
	Dir     string `help:"Scratch directory (default: a temporary one)."`
	JSON    bool   `help:"Print JSON."`
	Compact bool   `help:"Also measure compaction: a lake written as 24 runs (a small file per run and day) merged by lakefuse compact."`

	Child    string `hidden:"" help:"Run one measurement (write or read) and print it as JSON."`
	ChildDir string `hidden:""`
}

type benchResult struct {
	bench.Result
	CPUSeconds float64 `json:"cpu_seconds"`
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Run runs the benchmarks.
func (c *BenchCmd) Run(g *Globals) error {
	if c.Child != "" {
		return c.runChild(g)
	}
	scratch := c.Dir
	if scratch == "" {
		d, err := os.MkdirTemp("", "lakefuse-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		scratch = d
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []benchResult
	for _, n := range c.Rows {
		dir := filepath.Join(scratch, fmt.Sprintf("lake-%d", n))
		phases := []string{"write", "read"}
		if c.Compact {
			phases = append(phases, "small", "compact")
		}
		for _, phase := range phases {
			if phase == "small" {
				_ = os.RemoveAll(dir)
			}
			args := []string{"bench", "--child", phase, "--child-dir", dir, "--rows", strconv.Itoa(n), "--payload", strconv.Itoa(c.Payload)}
			var out, errb bytes.Buffer
			cmd := exec.CommandContext(g.Ctx, self, args...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("bench %s %d rows: %v: %s", phase, n, err, strings.TrimSpace(errb.String()))
			}
			var r benchResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				return fmt.Errorf("bench %s %d rows: %v", phase, n, err)
			}
			results = append(results, r)
		}
		_ = os.RemoveAll(dir)
	}
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "BENCHMARK\tROWS\tSECONDS\tCPU s\tROWS/S\tMB/S\tPEAK RSS\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.0f\t%.1f\t%s\t\n", r.Name, r.Rows, r.Seconds, r.CPUSeconds, r.RowsPerSec(), r.MBPerSec(), humanBytes(r.PeakRSS))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Note != "" {
			fmt.Fprintf(g.Stdout, "%s, %d rows: %s\n", r.Name, r.Rows, r.Note)
		}
	}
	return nil
}

func (c *BenchCmd) runChild(g *Globals) error {
	if len(c.Rows) != 1 || c.ChildDir == "" {
		return fmt.Errorf("bench --child needs one --rows value and --child-dir")
	}
	c0 := cpuTime()
	var r bench.Result
	var err error
	switch c.Child {
	case "write":
		r, err = bench.WriteObservations(g.Ctx, c.ChildDir, c.Rows[0], c.Payload)
	case "read":
		r, err = bench.ReadObservations(g.Ctx, c.ChildDir)
	case "small":
		r, err = bench.WriteSmallFiles(g.Ctx, c.ChildDir, c.Rows[0], c.Payload, 24)
	case "compact":
		r, err = bench.CompactLake(g.Ctx, c.ChildDir)
	default:
		err = fmt.Errorf("unknown bench phase %q", c.Child)
	}
	if err != nil {
		return err
	}
	r.PeakRSS = bench.PeakRSS()
	return json.NewEncoder(g.Stdout).Encode(benchResult{Result: r, CPUSeconds: (cpuTime() - c0).Seconds()})
}
