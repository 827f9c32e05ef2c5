package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// defaultProgressEvery is how often a command that is not on a terminal logs
// where it is.
const defaultProgressEvery = 30 * time.Second

// mediaFiles is the line of media objects copied (export).
const mediaFiles = "media files"

// progressMode is how a command shows its progress.
type progressMode int

const (
	// progressOff: --quiet.
	progressOff progressMode = iota
	// progressLines: an info log line per table every Globals.ProgressEvery
	// (stderr is not a terminal, or logs are JSON).
	progressLines
	// progressLive: one live line per table on the terminal (mpb), with log
	// lines printed above it.
	progressLive
)

// progress shows rows per table while a command runs: live on a terminal,
// periodic log lines otherwise, nothing with --quiet. Update may be called
// from any goroutine; Stop ends the display.
type progress struct {
	g    *Globals
	mode progressMode

	mu     sync.Mutex
	tables map[string]*tableProgress
	order  []string
	mpb    *mpb.Progress
	done   chan struct{}
	ticker sync.WaitGroup
}

// tableProgress is one table's counts. Its own lock keeps the display's
// decorator (run by the bar's goroutine) apart from progress.mu, which is
// held while bars are created.
type tableProgress struct {
	start time.Time
	unit  string // "rows", or "files" for media
	bar   *mpb.Bar

	mu          sync.Mutex
	rows, total int64
	changed     time.Time // when rows last grew: a finished table's rate stays put
	logged      int64     // rows at the last progress line
}

func (g *Globals) progressMode() progressMode {
	switch {
	case g.Quiet:
		return progressOff
	case g.LiveProgress:
		return progressLive
	}
	return progressLines
}

// startProgress starts showing progress for g's command.
func startProgress(g *Globals) *progress {
	p := &progress{g: g, mode: g.progressMode(), tables: map[string]*tableProgress{}, done: make(chan struct{})}
	if p.mode != progressOff {
		every, tick := g.ProgressEvery, p.logLines
		if every <= 0 {
			every = defaultProgressEvery
		}
		if p.mode == progressLive {
			every, tick = 150*time.Millisecond, p.syncBars
		}
		p.ticker.Add(1)
		go func() {
			defer p.ticker.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-p.done:
					return
				case <-t.C:
					tick()
				}
			}
		}()
	}
	return p
}

// Update records that table has done of total rows (total 0: unknown).
func (p *progress) Update(table string, done, total int64) {
	if p == nil || p.mode == progressOff {
		return
	}
	p.mu.Lock()
	if p.mode == progressLive && p.mpb == nil {
		// Started at the first count, not before: a command may still ask
		// a question on the terminal (import's confirmation).
		p.mpb = mpb.NewWithContext(p.g.Ctx, mpb.WithOutput(p.g.Stderr), mpb.WithWidth(24),
			mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
		// Log lines go through the display, which prints them above the
		// table lines instead of on top of them.
		p.g.logOut.set(p.mpb)
	}
	t, ok := p.tables[table]
	if !ok {
		t = &tableProgress{start: time.Now(), unit: "rows"}
		if table == mediaFiles {
			t.unit = "files"
		}
		p.tables[table] = t
		p.order = append(p.order, table)
		if p.mpb != nil {
			t.bar = p.mpb.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
				mpb.PrependDecorators(decor.Name(table, decor.WC{W: 24, C: decor.DindentRight})),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return t.describe() })))
		}
	}
	p.mu.Unlock()
	// The importer counts every row: only record here; syncBars moves the
	// bars a few times a second.
	t.mu.Lock()
	if done != t.rows {
		t.rows, t.changed = done, time.Now()
	}
	if total > 0 {
		t.total = total
	}
	t.mu.Unlock()
}

// syncBars moves each bar to its table's counts.
func (p *progress) syncBars() {
	p.mu.Lock()
	tables := make([]*tableProgress, 0, len(p.order))
	for _, name := range p.order {
		tables = append(tables, p.tables[name])
	}
	p.mu.Unlock()
	for _, t := range tables {
		t.mu.Lock()
		rows, total, known := t.rows, max(t.total, t.rows), t.total > 0
		t.mu.Unlock()
		// Bars are made with total 0, so reaching the total does not
		// complete them: export's totals can grow while it runs.
		if known {
			t.bar.SetTotal(total, false)
		}
		t.bar.SetCurrent(rows)
	}
}

func (t *tableProgress) rate() float64 {
	return float64(t.rows) / max(t.changed.Sub(t.start).Seconds(), 0.001)
}

// describe is a table's line after its bar: rows, rows/s and, when the total
// is known, the time left.
func (t *tableProgress) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	rate := t.rate()
	s := fmt.Sprintf("%d %s", t.rows, t.unit)
	if t.total > 0 {
		s = fmt.Sprintf("%d/%d %s", t.rows, t.total, t.unit)
	}
	s += fmt.Sprintf("  %.0f %s/s", rate, t.unit)
	if eta, ok := t.eta(rate); ok {
		s += "  ETA " + eta.String()
	}
	return s
}

func (t *tableProgress) eta(rate float64) (time.Duration, bool) {
	if t.total <= 0 || t.rows >= t.total || rate <= 0 {
		return 0, false
	}
	return (time.Duration(float64(t.total-t.rows)/rate) * time.Second).Round(time.Second), true
}

// logLines logs one line per table whose count moved since the last one.
func (p *progress) logLines() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range p.order {
		t := p.tables[name]
		t.mu.Lock()
		if t.rows == t.logged {
			t.mu.Unlock()
			continue
		}
		t.logged = t.rows
		rate := t.rate()
		attrs := []slog.Attr{slog.String("table", name), slog.Int64(t.unit, t.rows)}
		if t.total > 0 {
			attrs = append(attrs, slog.Int64("total", t.total))
		}
		attrs = append(attrs, slog.Float64(t.unit+"_per_s", float64(int64(rate*10))/10))
		if eta, ok := t.eta(rate); ok {
			attrs = append(attrs, slog.String("eta", eta.String()))
		}
		t.mu.Unlock()
		p.g.Log.LogAttrs(p.g.Ctx, slog.LevelInfo, "progress", attrs...)
	}
}

// Stop ends the display: the live lines stay on the screen with their final
// counts, and logs go straight to stderr again.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.ticker.Wait()
	p.mu.Lock()
	if p.mpb == nil {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.syncBars()
	p.mu.Lock()
	bars := make([]*mpb.Bar, 0, len(p.order))
	for _, name := range p.order {
		bars = append(bars, p.tables[name].bar)
	}
	p.mu.Unlock()
	for _, b := range bars {
		// Complete every line at its count, so that Wait returns.
		b.SetTotal(-1, true)
	}
	// Logs written while the display ends go to stderr (Write fails once
	// it is done).
	p.mpb.Wait()
	p.g.logOut.set(nil)
}

// switchWriter is the logger's output: the live display while one runs,
// stderr otherwise (or when the display has just ended). Each Write is one
// log record.
type switchWriter struct {
	mu       sync.Mutex
	display  io.Writer
	fallback io.Writer
}

func (s *switchWriter) set(display io.Writer) {
	s.mu.Lock()
	s.display = display
	s.mu.Unlock()
}

func (s *switchWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	w := s.display
	s.mu.Unlock()
	if w != nil {
		if n, err := w.Write(b); err == nil {
			return n, nil
		}
	}
	return s.fallback.Write(b)
}
