package main

import (
	"bytes"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
)

// demoArgs is a demo big enough to take a few seconds, so that progress
// is drawn while log lines arrive.
func demoArgs(t *testing.T, extra ...string) []string {
	return append([]string{"demo", "--dir", filepath.Join(t.TempDir(), "lake"), "--observations", "3000", "--payload-bytes", "400"}, extra...)
}

var (
	// ansi matches the control sequences the live display writes.
	ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	// barLine is one table's live line: name, bar, counts, rate.
	barLine = regexp.MustCompile(`^[a-z_ ]+ +\[[=>\-]*\] \d+(/\d+)? (rows|files)  \d+ (rows|files)/s`)
)

// On a terminal, progress is a live display (one line per table) and log
// lines are printed above it: no line mixes the two.
func TestProgressOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(&screen, ptmx) // ends with an error when tty closes
	}()
	// Enough observations that the export's later log lines come while the
	// display is up whatever the machine's speed (with 3,000, an idle
	// machine exported them before the display's first frame).
	args := []string{"demo", "--dir", filepath.Join(t.TempDir(), "lake"), "--observations", "30000", "--payload-bytes", "400"}
	code := Do(args, strings.NewReader(""), tty, tty)
	tty.Close()
	wg.Wait()
	out := screen.String()
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, out)
	}
	var bars, logs, logsAboveBars int
	for _, raw := range strings.Split(out, "\n") {
		// The display moves up and clears before it redraws; a log line
		// written meanwhile starts right after that.
		redrawn := strings.Contains(raw, "\x1b[J")
		line := strings.TrimRight(ansi.ReplaceAllString(raw, ""), "\r")
		if i := strings.LastIndex(line, "\r"); i >= 0 {
			line = line[i+1:]
		}
		switch {
		case strings.Contains(line, "level="):
			logs++
			if !strings.HasPrefix(line, "time=") {
				t.Errorf("a log line shares its line with something else: %q", line)
			}
			if redrawn {
				logsAboveBars++
			}
		case barLine.MatchString(line):
			bars++
		}
	}
	if bars == 0 || logs == 0 || logsAboveBars == 0 {
		t.Errorf("%d table lines, %d log lines, %d of them printed above the display: want all three\n%s", bars, logs, logsAboveBars, out)
	}
}

// Without a terminal, progress is a log line per table every
// --progress-every; --quiet shows none. Neither writes control sequences.
func TestProgressWithoutATerminal(t *testing.T) {
	code, _, errOut := run(t, demoArgs(t, "--progress-every", "50ms")...)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, errOut)
	}
	if strings.ContainsAny(errOut, "\r\x1b") {
		t.Errorf("control characters on a plain stderr:\n%q", errOut)
	}
	lines := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=progress table=observations rows=\d+ `).FindAllString(errOut, -1)
	if len(lines) == 0 {
		t.Errorf("no progress lines for observations:\n%s", errOut)
	}

	code, _, errOut = run(t, demoArgs(t, "--progress-every", "50ms", "--quiet")...)
	if code != 0 {
		t.Fatalf("demo --quiet: exit %d\n%s", code, errOut)
	}
	if strings.Contains(errOut, "msg=progress") || strings.ContainsAny(errOut, "\r\x1b") {
		t.Errorf("--quiet shows progress:\n%s", errOut)
	}
}
