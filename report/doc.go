// Package report turns a lake into one self-contained HTML page that people
// can look at before they query tables: the lake at a glance (sources, runs,
// time window, tables with rows and bytes, schema version, filters and notes
// recorded in the manifests), charts per day (traces and observations by
// type, cost by model, input and output tokens, generation latency p50, p90
// and p99, the share of each observation level), the top trace names, every
// score name with its distribution, and, when given, the per-table result of
// an import or a comparison with a live project (a Result file).
//
// # Reading
//
// Collect reads the lake through package hive in one streaming pass per
// table (traces, observations, scores), asking only for the columns it
// needs. It keeps aggregates per day and bounded summaries, nothing per row:
// a DDSketch-style quantile sketch per day for latencies (each percentile
// within RelativeAccuracy, 1%, of the exact value of the same rank), an exact
// histogram on a power-of-two grid that widens as values arrive for numeric
// scores, Space-Saving counters for trace names and score categories (exact
// while the distinct values fit, marked approximate otherwise), and fixed
// caps on models, types and score names past which the rest is grouped as
// Other. Memory grows with the number of days, not with rows. LangSmith
// conversions land in the same tables and need nothing special.
//
// # The page
//
// Render writes one HTML file: the figures as JSON, the page's script and
// style, and the charting library, all inline. It works from a file:// URL
// and as an e-mail attachment; its Content-Security-Policy forbids every
// network request. Text from the lake is set with textContent, never parsed
// as HTML.
//
// The charts use Chart.js 4 (assets/chart.umd.min.js, from the npm package's
// dist/, MIT licence in assets/chart.js-LICENSE.md), embedded in the binary.
// It was chosen over uPlot, which is smaller, because every chart here is a
// plain bar, stacked bar, horizontal bar or line chart with tooltips and
// legends, which Chart.js draws out of the box from one dependency-free UMD
// file; uPlot is built for dense time series and needs plugins for bars.
// Chart.js is widely used, actively maintained, and draws to canvas, so a
// test can check that each chart drew pixels.
//
// # Results
//
// import, migrate and verify --against-source/--against-destination write a
// Result with --report-json FILE; `lakefuse report LOCATION --compare FILE`
// shows it. The file lives where the user puts it, not in the lake: verify
// only reads a lake and may have read-only access to it.
//
// report reads lakes; it never writes to one. It knows nothing of Langfuse's
// API or of the commands that write Results.
package report
