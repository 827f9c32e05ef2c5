package lftest

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// How Langfuse's ingestion reshapes what a span sends before it stores it.
// The OTLP write side (otlp.go) calls these; the round-trip verification
// (cmd/lakefuse compare.go) calls the JSON-text forms to predict what a real
// destination stores.

// ReshapeTools moves a `tools` array out of an observation's metadata into
// its input, as normalizeToolMetadataForObservation does on both OTLP paths
// (packages/shared/src/server/ingestion/extractToolsBackend.ts, called from
// packages/shared/src/server/otel/OtelIngestionProcessor.ts). input is the
// value as the span sent it, metadata the observation's metadata object.
// When nothing moves, both come back unchanged.
func ReshapeTools(input, metadata Payload) (Payload, Payload) {
	md, ok := metadata.Text()
	if !ok {
		return input, metadata
	}
	var in *string
	if s, ok := input.Text(); ok {
		in = &s
	}
	newIn, newMd, moved := ToolsIntoInput(in, md)
	if !moved {
		return input, metadata
	}
	return JSONPayload(newIn), JSONPayload(newMd)
}

// ToolsIntoInput is ReshapeTools on text: input is the input as the server
// received it (an attribute's string, nil when absent), metadata the JSON
// text of the metadata. The rule (collectAndRemoveToolDefinitionsFromMetadata
// and appendToolsToInput):
//
//   - it applies only when metadata is an object whose "tools" is a
//     non-empty array (or the JSON text of one) and every item is a tool
//     definition: an object (or its JSON text) with a truthy name, or with
//     a "function" whose name is truthy. Items given as text are parsed;
//     items with a name already seen are dropped.
//   - the input, parsed as JSON when it is (else taken as a string),
//     becomes: an array → {"messages": input, "tools": tools}; an object
//     without "tools" → the object plus "tools"; an object with "tools" →
//     the object with its tool-like tools followed by the new ones (deduped
//     by name), unless it holds no tool-like entry (then nothing moves);
//     absent or null → {"tools": tools}; a string → {"prompt": input,
//     "tools": tools}; a number or boolean → nothing moves.
//   - when it moves, "tools" leaves the metadata.
//
// Tool definitions found in metadata.attributes (ai.prompt.tools,
// gen_ai.tool.definitions, model_request_parameters.function_tools,
// llm.tools.N.tool.json_schema) also move in Langfuse; they are not
// modelled here (lakefuse's importer sends no such attributes).
func ToolsIntoInput(input *string, metadata string) (newInput, newMetadata string, moved bool) {
	if !strings.Contains(metadata, "tools") && !strings.Contains(metadata, `\u`) {
		return "", "", false // no "tools" key, not even an escaped one
	}
	var toolsRaw string
	var keys, raws []string
	if !scanObject(metadata, func(k, raw string) {
		keys, raws = append(keys, k), append(raws, raw)
		if k == "tools" {
			toolsRaw = raw
		}
	}) || toolsRaw == "" {
		return "", "", false
	}
	tools, ok := metadataTools(toolsRaw)
	if !ok {
		return "", "", false
	}
	in, ok := mergeTools(input, tools)
	if !ok {
		return "", "", false
	}
	b := []byte{'{'}
	for i, k := range keys {
		if k == "tools" {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, raws[i]...)
	}
	return in, string(append(b, '}')), true
}

// toolArray parses a tools value (parseToolDefinitionArray): an array or
// the JSON text of one, each item parsed when it is text. It keeps the
// tool-like items; with every, one that is not fails the whole array.
// provider also accepts objects with a string "type" and no name.
func toolArray(raw string, every, provider bool) ([]json.RawMessage, bool) {
	var s string
	if json.Unmarshal([]byte(raw), &s) == nil {
		raw = s
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(raw), &items) != nil {
		return nil, false
	}
	if len(items) == 0 {
		return items, true
	}
	var out []json.RawMessage
	for _, it := range items {
		if json.Unmarshal(it, &s) == nil && json.Valid([]byte(s)) {
			it = json.RawMessage(s)
		}
		if toolLike(it, provider) {
			out = append(out, it)
		} else if every {
			return nil, false
		}
	}
	return out, len(out) > 0
}

// toolLike is isToolMetadataEntryLike: a plain object with a tool name
// (flattenToolDefinition), or with provider a string "type".
func toolLike(raw json.RawMessage, provider bool) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return false
	}
	if toolName(m) != "" {
		return true
	}
	var typ string
	return provider && json.Unmarshal(m["type"], &typ) == nil && m["type"] != nil
}

// toolName is flattenToolDefinition's name: function.name when "function"
// is set, else name; "" when it is not truthy.
func toolName(m map[string]json.RawMessage) string {
	data := m
	if f, ok := m["function"]; ok && string(f) != "null" {
		data = nil
		_ = json.Unmarshal(f, &data)
	}
	raw, ok := data["name"]
	if !ok {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x != 0 {
			return string(raw)
		}
	case bool:
		if x {
			return "true"
		}
	case map[string]any, []any:
		return string(raw)
	}
	return ""
}

// dedupeTools keeps the first tool of each name (dedupeToolDefinitions).
func dedupeTools(tools []json.RawMessage) []json.RawMessage {
	seen := map[string]bool{}
	out := tools[:0:0]
	for _, t := range tools {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(t, &m)
		name := toolName(m)
		if name != "" && seen[name] {
			continue
		}
		if name != "" {
			seen[name] = true
		}
		out = append(out, t)
	}
	return out
}

func toolsJSON(tools []json.RawMessage) string {
	b := []byte{'['}
	for i, t := range tools {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, compactJSON(string(t))...)
	}
	return string(append(b, ']'))
}

// toolSet is a list of tool definitions and its JSON text (toolsJSON).
type toolSet struct {
	list []json.RawMessage // clipped: an append copies it
	text string
}

// metadataTools is what ToolsIntoInput moves of the metadata's tools value
// raw: its tool-like items (all of them must be), deduplicated; false when
// nothing moves. A project repeats the same tool lists on every generation,
// and parsing them with encoding/json on every span took a quarter of the
// reshaping, on the server at ingestion and in verify's expectation
// (issue 11): results are kept by raw text (toolMemo).
func metadataTools(raw string) (toolSet, bool) {
	type result struct {
		set toolSet
		ok  bool
	}
	r := memoTools("metadata\x00"+raw, func() any {
		tools, ok := toolArray(raw, true, false)
		if !ok || len(tools) == 0 {
			return result{}
		}
		tools = slices.Clip(dedupeTools(tools))
		return result{toolSet{tools, toolsJSON(tools)}, true}
	}).(result)
	return r.set, r.ok
}

// mergedTools is the JSON text of an input's tools value existing (its
// tool-like items) followed by tools, deduplicated; false when existing is
// not a tool list. Kept like metadataTools.
func mergedTools(existing string, tools toolSet) (string, bool) {
	type result struct {
		text string
		ok   bool
	}
	r := memoTools("input\x00"+existing+"\x00"+tools.text, func() any {
		old, ok := toolArray(existing, false, true)
		if !ok {
			return result{}
		}
		return result{toolsJSON(dedupeTools(append(slices.Clip(old), tools.list...))), true}
	}).(result)
	return r.text, r.ok
}

// toolMemo keeps the results of metadataTools and mergedTools by key, for
// up to toolMemoSize keys (then it only computes): the values are never
// changed.
var toolMemo = struct {
	sync.Mutex
	m map[string]any
}{m: map[string]any{}}

const toolMemoSize = 1024

func memoTools(key string, compute func() any) any {
	toolMemo.Lock()
	v, ok := toolMemo.m[key]
	toolMemo.Unlock()
	if ok {
		return v
	}
	v = compute()
	toolMemo.Lock()
	if len(toolMemo.m) < toolMemoSize {
		toolMemo.m[strings.Clone(key)] = v
	}
	toolMemo.Unlock()
	return v
}

// mergeTools is appendToolsToInput.
func mergeTools(input *string, tools toolSet) (string, bool) {
	obj := func(k, v string) string {
		return `{` + string(appendString(nil, k)) + `:` + v + `,"tools":` + tools.text + `}`
	}
	if input == nil {
		return `{"tools":` + tools.text + `}`, true
	}
	text := strings.TrimSpace(*input)
	if !json.Valid([]byte(text)) {
		return obj("prompt", string(appendString(nil, *input))), true
	}
	switch text[0] {
	case '[':
		return obj("messages", compactJSON(text)), true
	case '"':
		return obj("prompt", text), true
	case 'n':
		return `{"tools":` + tools.text + `}`, true
	case '{':
		var keys, raws []string
		var existing string
		scanObject(text, func(k, raw string) {
			keys, raws = append(keys, k), append(raws, raw)
			if k == "tools" && raw != "null" {
				existing = raw
			}
		})
		all := tools.text
		if existing != "" {
			var ok bool
			if all, ok = mergedTools(existing, tools); !ok {
				return "", false
			}
		}
		b := []byte{'{'}
		done := false
		for i, k := range keys {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if k == "tools" {
				b, done = append(b, all...), true
			} else {
				b = append(b, compactJSON(raws[i])...)
			}
		}
		if !done {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(append(b, `"tools":`...), all...)
		}
		return string(append(b, '}')), true
	}
	return "", false // a number or boolean
}

// FlattenMetadata is how Langfuse v4 stores observation metadata in its
// events table: nested objects become dotted keys, every leaf a string
// (strings as they are, null as "", anything else, arrays included, as
// JSON text); an empty nested object leaves no key
// (flattenJsonToPathArrays in packages/shared/src/server/otel/utils.ts,
// used by createEventRecord in worker/src/services/IngestionService/index.ts).
// Metadata that is not an object is returned unchanged.
func FlattenMetadata(metadata Payload) Payload {
	s, ok := metadata.Text()
	if !ok || metadata.str {
		return metadata
	}
	out, ok := FlattenMetadataJSON(s)
	if !ok {
		return metadata
	}
	return JSONPayload(out)
}

// FlattenMetadataJSON is FlattenMetadata on JSON text; ok is false when s
// is not a JSON object.
func FlattenMetadataJSON(s string) (string, bool) {
	b := []byte{'{'}
	var walk func(prefix, obj string) bool
	walk = func(prefix, obj string) bool {
		return scanObject(obj, func(k, raw string) {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			if raw[0] == '{' && walk(path, raw) {
				return
			}
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendString(b, path)
			b = append(b, ':')
			switch raw[0] {
			case '"':
				b = append(b, raw...)
			case 'n':
				b = append(b, `""`...)
			default:
				b = appendString(b, compactJSON(raw))
			}
		})
	}
	if !walk("", s) {
		return "", false
	}
	return string(append(b, '}')), true
}

// StoredMetadata is the metadata a server of mode m keeps for a span: v4
// flattens it (FlattenMetadata), v3 keeps top-level keys.
func StoredMetadata(m Mode, metadata Payload) Payload {
	if m == V4 {
		return FlattenMetadata(metadata)
	}
	return metadata
}
