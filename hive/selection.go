package hive

import (
	"slices"
	"sort"
)

// Selection records what a run left out on purpose, so that nobody takes
// the lake for a full copy of its source: the trace filter (criterion →
// values; see internal/selection) and the observation field groups whose
// columns are null. The time window is in Manifest.Window.
type Selection struct {
	Filter        map[string][]string `json:"filter,omitempty"`
	OmittedFields []string            `json:"omitted_fields,omitempty"`
}

// Empty reports whether nothing was left out.
func (s *Selection) Empty() bool {
	return s == nil || (len(s.Filter) == 0 && len(s.OmittedFields) == 0)
}

// Selections returns the distinct non-empty selections of the manifests
// that wrote live files of the project (all projects when project is ""),
// oldest first.
func (l *Lake) Selections(project string) []*Selection {
	var out []*Selection
	for _, m := range l.Manifests {
		if m.Selection.Empty() {
			continue
		}
		live := false
		for _, f := range m.Files {
			if (project == "" || f.ProjectID == project) && l.Live(f.Path) {
				live = true
				break
			}
		}
		if live {
			out = append(out, m.Selection)
		}
	}
	return out
}

// OmittedFields returns the field groups that some live file of the
// project lacks, sorted.
func (l *Lake) OmittedFields(project string) []string {
	var out []string
	for _, s := range l.Selections(project) {
		for _, g := range s.OmittedFields {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	sort.Strings(out)
	return out
}
