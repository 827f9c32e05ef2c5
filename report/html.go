package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
)

var (
	// chartJS is Chart.js 4.6.2's UMD build (dist/chart.umd.min.js of the npm
	// package chart.js), MIT licence: assets/chart.js-LICENSE.md.
	//go:embed assets/chart.umd.min.js
	chartJS string
	//go:embed page.html
	pageHTML string
	//go:embed page.js
	pageJS string
	//go:embed page.css
	pageCSS string

	page = template.Must(template.New("report").Parse(pageHTML))
)

// Render writes the report page for d: one HTML file with its scripts,
// styles and data inline, that needs no network (its Content-Security-Policy
// forbids any).
func Render(w io.Writer, d *Data) error {
	// encoding/json escapes <, > and &, so the data cannot end its script
	// element.
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return page.Execute(w, map[string]any{
		"Location": d.Location,
		"Tool":     d.Tool,
		"CSS":      template.CSS(pageCSS),
		"Data":     template.JS(data),
		"ChartJS":  template.JS(chartJS),
		"PageJS":   template.JS(pageJS),
	})
}

// WriteFile renders the page for d into path, atomically (a temporary file
// renamed), readable by everyone.
func WriteFile(path string, d *Data) error {
	return writeAtomic(path, ".lakefuse-report-*", 0o644, func(w io.Writer) error { return Render(w, d) })
}
