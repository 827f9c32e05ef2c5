package lftest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

func (c *call) datasetByName(name string) *Dataset {
	for _, d := range c.p.Datasets() {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (c *call) datasetByID(id string) *Dataset {
	for _, d := range c.p.Datasets() {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func newestFirst[T any](items []T, at func(T) time.Time, id func(T) string) []T {
	slices.SortStableFunc(items, func(a, b T) int {
		if c := at(b).Compare(at(a)); c != 0 {
			return c
		}
		return strings.Compare(id(b), id(a))
	})
	return items
}

// hDatasets serves GET /api/public/v2/datasets.
func hDatasets(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	ds := newestFirst(c.p.Datasets(), func(d *Dataset) time.Time { return d.CreatedAt }, func(d *Dataset) string { return d.ID })
	return listPage(ds, pr, nil, func(d *Dataset) any { return c.datasetJSON(d) }), nil
}

// hDataset serves GET /api/public/v2/datasets/{datasetName}.
func hDataset(c *call) (any, error) {
	d := c.datasetByName(c.params["datasetName"])
	if d == nil {
		return nil, notFound("Dataset not found")
	}
	return c.datasetJSON(d), nil
}

// hDatasetItems serves GET /api/public/dataset-items.
func hDatasetItems(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 50, 100)
	if err != nil {
		return nil, err
	}
	version, err := timeParam(q, "version")
	if err != nil {
		return nil, err
	}
	name := q.Get("datasetName")
	if !version.IsZero() && name == "" {
		return nil, badRequest("datasetName is required when version is provided")
	}
	var ds *Dataset
	if name != "" {
		if ds = c.datasetByName(name); ds == nil {
			return nil, notFound("Dataset not found")
		}
	}
	traceID, obsID := q.Get("sourceTraceId"), q.Get("sourceObservationId")
	items := newestFirst(c.p.DatasetItems(), func(i *DatasetItem) time.Time { return i.CreatedAt }, func(i *DatasetItem) string { return i.ID })
	return listPage(items, pr, func(it *DatasetItem) bool {
		// Without version history, an item existed at `version` if it was
		// created by then.
		return (ds == nil || it.DatasetID == ds.ID) && (traceID == "" || eqPtr(it.SourceTraceID, traceID)) &&
			(obsID == "" || eqPtr(it.SourceObservationID, obsID)) && (version.IsZero() || !it.CreatedAt.After(version))
	}, func(it *DatasetItem) any { return c.datasetItemJSON(it) }), nil
}

// hDatasetItem serves GET /api/public/dataset-items/{id}.
func hDatasetItem(c *call) (any, error) {
	for _, it := range c.p.DatasetItems() {
		if it.ID == c.params["id"] {
			return c.datasetItemJSON(it), nil
		}
	}
	return nil, notFound("Dataset item not found")
}

func (c *call) datasetItemJSON(it *DatasetItem) map[string]any {
	name := ""
	if d := c.datasetByID(it.DatasetID); d != nil {
		name = d.Name
	}
	refs := []any{}
	for _, f := range []struct {
		field string
		p     Payload
	}{{"input", it.Input}, {"expectedOutput", it.ExpectedOutput}, {"metadata", it.Metadata}} {
		refs = append(refs, c.mediaReferences(f.field, f.p)...)
	}
	return map[string]any{"id": it.ID, "status": it.Status, "input": it.Input.value(), "expectedOutput": it.ExpectedOutput.value(),
		"metadata": it.Metadata.value(), "sourceTraceId": it.SourceTraceID, "sourceObservationId": it.SourceObservationID,
		"datasetId": it.DatasetID, "datasetName": name, "createdAt": isoTime(it.CreatedAt), "updatedAt": isoTime(it.UpdatedAt),
		"mediaReferences": refs}
}

var mediaTag = regexp.MustCompile(`@@@langfuseMedia:type=([^|@]+)\|id=([^|@]+)\|source=([^|@]+)@@@`)

// mediaReferences finds media tokens in a JSON value and resolves them to
// signed URLs, with the JSONPath of the string that holds each.
func (c *call) mediaReferences(field string, p Payload) []any {
	var v any
	if err := json.Unmarshal(p.value(), &v); err != nil {
		return nil
	}
	var out []any
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(func(yield func(string) bool) {
				for k := range x {
					if !yield(k) {
						return
					}
				}
			}) {
				walk(x[k], path+jsonPathKey(k))
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case string:
			for _, m := range mediaTag.FindAllStringSubmatch(x, -1) {
				media := c.p.Media(m[2])
				if media == nil {
					continue
				}
				url, expiry := c.signedMediaURL(media)
				out = append(out, map[string]any{"field": field, "referenceString": m[0], "jsonPath": path,
					"media": map[string]any{"mediaId": media.ID, "contentType": media.ContentType, "contentLength": len(media.Bytes),
						"url": url, "urlExpiry": iso(expiry)}})
			}
		}
	}
	walk(v, "$")
	return out
}

var identRe = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func jsonPathKey(k string) string {
	if identRe.MatchString(k) {
		return "." + k
	}
	b, _ := json.Marshal(k)
	return "[" + string(b) + "]"
}

func (c *call) runsOf(ds *Dataset) []*DatasetRun {
	var out []*DatasetRun
	for _, r := range c.p.DatasetRuns() {
		if r.DatasetID == ds.ID {
			out = append(out, r)
		}
	}
	return newestFirst(out, func(r *DatasetRun) time.Time { return r.CreatedAt }, func(r *DatasetRun) string { return r.ID })
}

func (c *call) runItemsOf(run *DatasetRun) []*DatasetRunItem {
	var out []*DatasetRunItem
	for _, it := range c.p.DatasetRunItems() {
		if it.RunID == run.ID {
			out = append(out, it)
		}
	}
	return newestFirst(out, func(i *DatasetRunItem) time.Time { return i.CreatedAt }, func(i *DatasetRunItem) string { return i.ID })
}

// hDatasetRuns serves GET /api/public/datasets/{datasetName}/runs (v3).
func hDatasetRuns(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	ds := c.datasetByName(c.params["datasetName"])
	if ds == nil {
		return nil, notFound("Dataset not found")
	}
	return listPage(c.runsOf(ds), pr, nil, func(r *DatasetRun) any { return c.runJSON(r, ds.Name) }), nil
}

// hDatasetRun serves GET /api/public/datasets/{datasetName}/runs/{runName} (v3).
func hDatasetRun(c *call) (any, error) {
	ds := c.datasetByName(c.params["datasetName"])
	if ds == nil {
		return nil, notFound("Dataset not found")
	}
	for _, r := range c.runsOf(ds) {
		if r.Name == c.params["runName"] {
			m := c.runJSON(r, ds.Name)
			items := []any{}
			for _, it := range c.runItemsOf(r) {
				items = append(items, runItemJSON(it, r.Name))
			}
			m["datasetRunItems"] = items
			return m, nil
		}
	}
	return nil, notFound("Dataset run not found")
}

// hDatasetRunItems serves GET /api/public/dataset-run-items (v3).
func hDatasetRunItems(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 50, 100)
	if err != nil {
		return nil, err
	}
	var issues []zodIssue
	for _, p := range []string{"datasetId", "runName"} {
		if q.Get(p) == "" {
			issues = append(issues, zodIssue{"code": "invalid_type", "expected": "string", "received": "undefined", "message": "Required", "path": []string{p}})
		}
	}
	if len(issues) > 0 {
		return nil, zodError(issues...)
	}
	ds := c.datasetByID(q.Get("datasetId"))
	if ds == nil {
		return nil, notFound("Dataset not found")
	}
	for _, r := range c.runsOf(ds) {
		if r.Name == q.Get("runName") {
			return listPage(c.runItemsOf(r), pr, nil, func(it *DatasetRunItem) any { return runItemJSON(it, r.Name) }), nil
		}
	}
	return nil, notFound("Dataset run not found")
}

// experiment is a dataset run seen as a v4 experiment, with its items.
type experiment struct {
	run        *DatasetRun
	items      []expItem
	start, end time.Time
}

type expItem struct {
	runItem *DatasetRunItem
	item    *DatasetItem
	root    *Observation
	trace   *Trace
}

// experiments derives v4 experiments from runs and their items' traces.
func (c *call) experiments() []*experiment {
	items := map[string]*DatasetItem{}
	for _, it := range c.p.DatasetItems() {
		items[it.ID] = it
	}
	byRun := map[string][]*DatasetRunItem{}
	for _, ri := range c.p.DatasetRunItems() {
		byRun[ri.RunID] = append(byRun[ri.RunID], ri)
	}
	tr := c.tr()
	var out []*experiment
	for _, r := range c.p.DatasetRuns() {
		e := &experiment{run: r}
		for _, ri := range byRun[r.ID] {
			t := tr.trace(ri.TraceID)
			obs := tr.traceObservations(ri.TraceID)
			if t == nil || len(obs) == 0 {
				continue
			}
			root := obs[len(obs)-1]
			for _, o := range obs {
				if o.ParentObservationID == "" {
					root = o
				}
			}
			e.items = append(e.items, expItem{runItem: ri, item: items[ri.DatasetItemID], root: root, trace: t})
			end := root.StartTime
			if root.EndTime != nil {
				end = *root.EndTime
			}
			if e.start.IsZero() || root.StartTime.Before(e.start) {
				e.start = root.StartTime
			}
			if end.After(e.end) {
				e.end = end
			}
		}
		if len(e.items) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// parseExperimentPaging reads the shared parameters of the experiments APIs.
func (c *call) parseExperimentPaging() (limit, scoreLimit int, from, to time.Time, afterT time.Time, afterID string, err error) {
	q := c.q
	if c.s.opts.Mode == V3 {
		err = notFound("The experiments API is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4")
		return
	}
	if limit, err = intParam(q, "limit", 50, 1, 100); err != nil {
		return
	}
	if scoreLimit, err = intParam(q, "scoreLimit", 50, 1, 50); err != nil {
		return
	}
	if q.Get("fromStartTime") == "" {
		err = zodError(zodIssue{"code": "invalid_type", "expected": "string", "received": "undefined", "message": "Required", "path": []string{"fromStartTime"}})
		return
	}
	if from, err = timeParam(q, "fromStartTime"); err != nil {
		return
	}
	if to, err = timeParam(q, "toStartTime"); err != nil {
		return
	}
	if cur := q.Get("cursor"); cur != "" {
		afterT, afterID, err = decodeTimeIDCursor(cur, 1)
	}
	return
}

func (c *call) scoresWhere(limit int, keep func(*Score) bool) []map[string]any {
	out := []map[string]any{}
	for _, s := range c.p.scoreIndex().sorted {
		if len(out) < limit && keep(s) {
			out = append(out, c.scoreV3(s, fieldGroups{"details": true, "subject": true, "annotation": true}))
		}
	}
	return out
}

func groupsOf(raw string, allowed, def []string) (fieldGroups, error) {
	g := fieldGroups{"core": true}
	list := def
	if raw != "" {
		list = strings.Split(raw, ",")
	}
	for _, f := range list {
		f = strings.TrimSpace(f)
		if !slices.Contains(allowed, f) {
			return nil, badRequest("Invalid fields group: " + f + ". Available groups: " + strings.Join(allowed, ", "))
		}
		g[f] = true
	}
	return g, nil
}

func afterCursor(t time.Time, id string, afterT time.Time, afterID string) bool {
	return afterID == "" || t.Before(afterT) || (t.Equal(afterT) && id < afterID)
}

// hExperiments serves GET /api/public/experiments (v4), ordered by latest
// activity descending.
func hExperiments(c *call) (any, error) {
	limit, scoreLimit, from, to, afterT, afterID, err := c.parseExperimentPaging()
	if err != nil {
		return nil, err
	}
	g, err := groupsOf(c.q.Get("fields"), []string{"core", "metadata", "scores"}, []string{"core"})
	if err != nil {
		return nil, err
	}
	ids, names, datasets := listParam(c.q, "id"), listParam(c.q, "name"), listParam(c.q, "datasetId")
	var conds []filterCond
	cols := map[string]column[*experiment]{
		"id": func(e *experiment) any { return e.run.ID }, "name": func(e *experiment) any { return e.run.Name },
		"datasetId": func(e *experiment) any { return e.run.DatasetID },
	}
	if conds, err = parseFilter(c.q.Get("filter"), cols); err != nil {
		return nil, err
	}
	exps := c.experiments()
	slices.SortFunc(exps, func(a, b *experiment) int {
		if x := b.end.Compare(a.end); x != 0 {
			return x
		}
		return strings.Compare(b.run.ID, a.run.ID)
	})
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	var rows []*experiment
	for _, e := range exps {
		if !e.start.Before(from) && (to.IsZero() || e.start.Before(to)) && in(ids, e.run.ID) && in(names, e.run.Name) &&
			in(datasets, e.run.DatasetID) && matchFilter(e, conds, cols) && afterCursor(e.end, e.run.ID, afterT, afterID) {
			rows = append(rows, e)
		}
	}
	meta := map[string]any{}
	if len(rows) > limit {
		rows = rows[:limit]
		meta["cursor"] = encodeTimeIDCursor(1, rows[limit-1].end, rows[limit-1].run.ID)
	}
	data := []map[string]any{}
	for _, e := range rows {
		m := map[string]any{"id": e.run.ID, "name": e.run.Name, "description": e.run.Description, "startTime": isoTime(e.start),
			"endTime": isoTime(e.end), "itemCount": len(e.items), "datasetId": e.run.DatasetID}
		if g["metadata"] {
			m["metadata"] = objectOrNil(e.run.Metadata)
		}
		if g["scores"] {
			id := e.run.ID
			m["scores"] = c.scoresWhere(scoreLimit, func(s *Score) bool { return eqPtr(s.DatasetRunID, id) })
		}
		data = append(data, m)
	}
	return map[string]any{"data": data, "meta": meta}, nil
}

func objectOrNil(p Payload) any {
	if p.IsNull() {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(p.value(), &m) != nil {
		return nil
	}
	return m
}

// hExperimentItems serves GET /api/public/experiment-items (v4): one row per
// experiment item, the root observation of its trace, newest first.
func hExperimentItems(c *call) (any, error) {
	limit, scoreLimit, from, to, afterT, afterID, err := c.parseExperimentPaging()
	if err != nil {
		return nil, err
	}
	g, err := groupsOf(c.q.Get("fields"), []string{"core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata", "scores"},
		[]string{"core", "dataset"})
	if err != nil {
		return nil, err
	}
	expIDs, expNames := listParam(c.q, "experimentId"), listParam(c.q, "experimentName")
	itemIDs, datasets := listParam(c.q, "experimentItemId"), listParam(c.q, "datasetId")
	type row struct {
		e  *experiment
		it expItem
	}
	cols := map[string]column[row]{
		"experimentId": func(r row) any { return r.e.run.ID }, "experimentName": func(r row) any { return r.e.run.Name },
		"experimentItemId": func(r row) any { return r.it.runItem.DatasetItemID }, "datasetId": func(r row) any { return r.e.run.DatasetID },
	}
	conds, err := parseFilter(c.q.Get("filter"), cols)
	if err != nil {
		return nil, err
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	var rows []row
	for _, e := range c.experiments() {
		for _, it := range e.items {
			r := row{e, it}
			st := it.root.StartTime
			if !st.Before(from) && (to.IsZero() || st.Before(to)) && in(expIDs, e.run.ID) && in(expNames, e.run.Name) &&
				in(itemIDs, it.runItem.DatasetItemID) && in(datasets, e.run.DatasetID) && matchFilter(r, conds, cols) &&
				afterCursor(st, it.root.ID, afterT, afterID) {
				rows = append(rows, r)
			}
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if x := b.it.root.StartTime.Compare(a.it.root.StartTime); x != 0 {
			return x
		}
		return strings.Compare(b.it.root.ID, a.it.root.ID)
	})
	meta := map[string]any{}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1].it.root
		meta["cursor"] = encodeTimeIDCursor(1, last.StartTime, last.ID)
	}
	data := []map[string]any{}
	for _, r := range rows {
		o, e := r.it.root, r.e
		m := map[string]any{"id": o.ID, "traceId": o.TraceID, "startTime": isoTime(o.StartTime), "endTime": isoPtr(o.EndTime),
			"level": o.Level, "environment": envOr(o.Environment), "experimentId": e.run.ID, "experimentName": e.run.Name,
			"experimentItemId": r.it.runItem.DatasetItemID, "experimentDescription": e.run.Description}
		if g["dataset"] {
			m["experimentDatasetId"], m["experimentItemVersion"] = e.run.DatasetID, nil
			if r.it.item != nil {
				m["experimentItemVersion"] = isoTime(r.it.item.UpdatedAt)
			}
		}
		if g["io"] {
			m["input"], m["output"], m["expectedOutput"] = o.Input.raw(), o.Output.raw(), nil
			if r.it.item != nil {
				m["expectedOutput"] = r.it.item.ExpectedOutput.raw()
			}
		}
		if g["metadata"] {
			m["metadata"] = metadataStrings(o.Metadata)
		}
		if g["itemMetadata"] {
			m["experimentItemMetadata"] = nil
			if r.it.item != nil {
				m["experimentItemMetadata"] = objectOrNil(r.it.item.Metadata)
			}
		}
		if g["experimentMetadata"] {
			m["experimentMetadata"] = objectOrNil(e.run.Metadata)
		}
		if g["scores"] {
			tid := o.TraceID
			m["scores"] = c.scoresWhere(scoreLimit, func(s *Score) bool { return eqPtr(s.TraceID, tid) })
		}
		data = append(data, m)
	}
	return map[string]any{"data": data, "meta": meta}, nil
}
