package lftest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// promptsByName groups prompt versions by name, versions ascending.
func (c *call) promptsByName() (names []string, byName map[string][]*PromptVersion) {
	byName = map[string][]*PromptVersion{}
	for _, v := range c.p.Prompts() {
		byName[v.Name] = append(byName[v.Name], v)
	}
	for n, vs := range byName {
		slices.SortFunc(vs, func(a, b *PromptVersion) int { return a.Version - b.Version })
		names = append(names, n)
	}
	slices.Sort(names)
	return names, byName
}

// hPrompts serves GET /api/public/v2/prompts: one PromptMeta per prompt name
// with the versions that match the filters (default limit 10, max 100).
func hPrompts(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 10, 100)
	if err != nil {
		return nil, err
	}
	from, err := timeParam(q, "fromUpdatedAt")
	if err != nil {
		return nil, err
	}
	to, err := timeParam(q, "toUpdatedAt")
	if err != nil {
		return nil, err
	}
	name, label, tag := q.Get("name"), q.Get("label"), q.Get("tag")
	names, byName := c.promptsByName()
	var metas []map[string]any
	for _, n := range names {
		if name != "" && n != name {
			continue
		}
		var match []*PromptVersion
		for _, v := range byName[n] {
			if (label == "" || slices.Contains(v.Labels, label)) && (tag == "" || slices.Contains(v.Tags, tag)) &&
				(from.IsZero() || !v.UpdatedAt.Before(from)) && (to.IsZero() || v.UpdatedAt.Before(to)) {
				match = append(match, v)
			}
		}
		if len(match) == 0 {
			continue
		}
		versions, labels := []int{}, []string{}
		var last time.Time
		for _, v := range match {
			versions = append(versions, v.Version)
			for _, l := range v.Labels {
				if !slices.Contains(labels, l) {
					labels = append(labels, l)
				}
			}
			if v.UpdatedAt.After(last) {
				last = v.UpdatedAt
			}
		}
		latest := match[len(match)-1]
		metas = append(metas, map[string]any{"name": n, "type": latest.Type, "versions": versions, "labels": labels,
			"tags": orEmpty(latest.Tags), "lastUpdatedAt": isoTime(last), "lastConfig": latest.Config.value()})
	}
	return listPage(metas, pr, nil, func(m map[string]any) any { return m }), nil
}

// hPrompt serves GET /api/public/v2/prompts/{promptName}: by version, by
// label, or the "production" label; resolve=false keeps dependency tags.
func hPrompt(c *call) (any, error) {
	name := c.params["promptName"]
	q := c.q
	version, err := intParam(q, "version", 0, 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	label := q.Get("label")
	if version != 0 && label != "" {
		return nil, badRequest("Cannot specify both version and label")
	}
	resolve, err := boolParam(q, "resolve")
	if err != nil {
		return nil, err
	}
	_, byName := c.promptsByName()
	v := findPrompt(byName[name], version, label)
	if v == nil {
		msg := fmt.Sprintf("Prompt not found: '%s'", name)
		if version != 0 {
			msg += fmt.Sprintf(" with version %d", version)
		} else {
			msg += fmt.Sprintf(" with label '%s'", cmpOr(label, "production"))
		}
		return nil, notFound(msg)
	}
	out := c.promptJSON(v)
	if resolve == nil || *resolve {
		graph := map[string]any{}
		resolved, err := resolvePrompt(v, byName, graph, 0)
		if err != nil {
			return nil, err
		}
		out["prompt"] = resolved
		if len(graph) > 0 {
			out["resolutionGraph"] = map[string]any{"root": map[string]any{"name": v.Name, "version": v.Version, "id": v.ID}, "dependencies": graph}
		}
	}
	return out, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func findPrompt(versions []*PromptVersion, version int, label string) *PromptVersion {
	if version == 0 && label == "" {
		label = "production"
	}
	for _, v := range versions {
		if (version != 0 && v.Version == version) || (label != "" && slices.Contains(v.Labels, label)) {
			return v
		}
	}
	return nil
}

func (c *call) promptJSON(v *PromptVersion) map[string]any {
	m := map[string]any{"id": v.ID, "projectId": c.p.ID, "name": v.Name, "version": v.Version, "type": v.Type,
		"config": v.Config.value(), "labels": orEmpty(v.Labels), "tags": orEmpty(v.Tags), "commitMessage": v.CommitMessage,
		"createdAt": isoTime(v.CreatedAt), "updatedAt": isoTime(v.UpdatedAt), "createdBy": v.CreatedBy,
		// GET sets it to labels.includes("production")
		// (web/src/features/prompts/server/handlers/promptNameHandler.ts);
		// creates return the row, which the same rule approximates.
		"isActive": slices.Contains(v.Labels, "production")}
	if v.Type == "chat" {
		m["prompt"] = chatJSON(v.Messages)
	} else {
		m["prompt"] = v.Text
	}
	return m
}

func chatJSON(msgs []ChatMessage) []any {
	out := []any{}
	for _, msg := range msgs {
		if msg.Placeholder != "" {
			out = append(out, map[string]any{"type": "placeholder", "name": msg.Placeholder})
		} else {
			out = append(out, map[string]any{"role": msg.Role, "content": msg.Content})
		}
	}
	return out
}

var promptTag = regexp.MustCompile(`@@@langfusePrompt:(.*?)@@@`)

// resolvePrompt replaces dependency tags by the text of the referenced
// prompt versions, recursively, recording the edges in graph.
func resolvePrompt(v *PromptVersion, byName map[string][]*PromptVersion, graph map[string]any, depth int) (any, error) {
	if depth > 5 {
		return nil, badRequest("Maximum nesting depth exceeded while resolving prompt dependencies")
	}
	var resolveErr error
	sub := func(text string) string {
		return promptTag.ReplaceAllStringFunc(text, func(tag string) string {
			dep, err := parsePromptTag(tag)
			if err == nil {
				dv := findPrompt(byName[dep.name], dep.version, dep.label)
				if dv == nil || dv.Type != "text" {
					err = notFound(fmt.Sprintf("Prompt dependency not found: '%s'", dep.name))
				} else {
					edges, _ := graph[v.ID].([]any)
					graph[v.ID] = append(edges, map[string]any{"name": dv.Name, "version": dv.Version, "id": dv.ID})
					var r any
					if r, err = resolvePrompt(dv, byName, graph, depth+1); err == nil {
						return r.(string)
					}
				}
			}
			if resolveErr == nil {
				resolveErr = err
			}
			return tag
		})
	}
	if v.Type == "chat" {
		msgs := slices.Clone(v.Messages)
		for i := range msgs {
			msgs[i].Content = sub(msgs[i].Content)
		}
		return chatJSON(msgs), resolveErr
	}
	return sub(v.Text), resolveErr
}

type promptRef struct {
	name    string
	version int
	label   string
}

func parsePromptTag(tag string) (promptRef, error) {
	body := strings.TrimSuffix(strings.TrimPrefix(tag, "@@@langfusePrompt:"), "@@@")
	var ref promptRef
	for _, part := range strings.Split(body, "|") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "name":
			ref.name = v
		case "version":
			n, err := strconv.Atoi(v)
			if err != nil {
				return ref, badRequest("Invalid prompt dependency tag: " + tag)
			}
			ref.version = n
		case "label":
			ref.label = v
		}
	}
	if ref.name == "" {
		return ref, badRequest("Invalid prompt dependency tag: " + tag)
	}
	return ref, nil
}
