package selection

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lakefuse/lakefuse/schema"
)

// Groups are Langfuse's v2 observation field groups, in its order
// (langfuse/langfuse packages/shared/src/domain/observation-field-groups.ts,
// OBSERVATION_FIELD_GROUPS_PUBLIC_API). trace_context and tools are left out: the
// exporter always needs the first (it derives the traces table from it) and
// the lake has no columns of the second.
var Groups = []string{"core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics"}

// Required groups cannot be left out: they identify rows and hold columns
// that cannot be null (type, level, environment).
var Required = []string{"core", "basic"}

// ParseFields reads a --fields list and returns the groups it leaves out
// (nil: all kept).
func ParseFields(list string) (omitted []string, err error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	keep := map[string]bool{}
	for _, g := range strings.Split(list, ",") {
		g = strings.ToLower(strings.TrimSpace(g))
		if g == "" {
			continue
		}
		if !slices.Contains(Groups, g) {
			return nil, fmt.Errorf("--fields: unknown group %q: use %s", g, strings.Join(Groups, ","))
		}
		keep[g] = true
	}
	var missing []string
	for _, g := range Required {
		if !keep[g] {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--fields must include %s (ids, type, level and environment cannot be left out; to hide user and session ids, filter or redact)", strings.Join(missing, " and "))
	}
	for _, g := range Groups {
		if !keep[g] {
			omitted = append(omitted, g)
		}
	}
	return omitted, nil
}

// CheckOmitted validates a list of omitted groups (from a manifest or
// Options).
func CheckOmitted(omitted []string) error {
	for _, g := range omitted {
		if !slices.Contains(Groups, g) || slices.Contains(Required, g) {
			return fmt.Errorf("field group %q cannot be left out (groups: %s; core and basic are required)", g, strings.Join(Groups, ","))
		}
	}
	return nil
}

// Blanker nulls the columns of the groups left out.
type Blanker struct{ omit map[string]bool }

// NewBlanker returns a Blanker for the omitted groups; nil when none.
func NewBlanker(omitted []string) *Blanker {
	if len(omitted) == 0 {
		return nil
	}
	b := &Blanker{omit: map[string]bool{}}
	for _, g := range omitted {
		b.omit[g] = true
	}
	return b
}

// Omits reports whether group g is left out.
func (b *Blanker) Omits(g string) bool { return b != nil && b.omit[g] }

// Observation nulls the observation columns of the omitted groups. The
// columns of each group follow Langfuse's blob export of enriched
// observations (OBSERVATION_FIELD_GROUPS_FULL); the deprecated v3 cost and
// usage columns go with usage, prices with model.
func (b *Blanker) Observation(o *schema.Observation) {
	if b == nil {
		return
	}
	if b.omit["time"] {
		o.CompletionStartTime, o.CreatedAt, o.UpdatedAt = nil, nil, nil
	}
	if b.omit["io"] {
		o.Input, o.Output = nil, nil
	}
	if b.omit["metadata"] {
		o.Metadata = nil
	}
	if b.omit["model"] {
		o.ProvidedModelName, o.ModelID, o.ModelParameters = nil, nil, nil
		o.InputPrice, o.OutputPrice, o.TotalPrice = nil, nil, nil
	}
	if b.omit["usage"] {
		o.UsageDetails, o.CostDetails, o.TotalCost = nil, nil, nil
		o.CalculatedInputCost, o.CalculatedOutputCost, o.CalculatedTotalCost, o.Usage = nil, nil, nil, nil
		o.UsagePricingTierID, o.UsagePricingTierName = nil, nil
	}
	if b.omit["prompt"] {
		o.PromptID, o.PromptName, o.PromptVersion = nil, nil, nil
	}
	if b.omit["metrics"] {
		o.Latency, o.TimeToFirstToken = nil, nil
	}
}

// Trace nulls the trace columns of the omitted groups: input and output
// with io, metadata with metadata, latency and cost with metrics and usage.
func (b *Blanker) Trace(t *schema.Trace) {
	if b == nil {
		return
	}
	if b.omit["io"] {
		t.Input, t.Output = nil, nil
	}
	if b.omit["metadata"] {
		t.Metadata = nil
	}
	if b.omit["metrics"] {
		t.Latency = nil
	}
	if b.omit["usage"] {
		t.TotalCost = nil
	}
	if b.omit["time"] {
		t.CreatedAt, t.UpdatedAt = nil, nil
	}
}

// Columns lists the observation columns a group holds (for checks and docs).
func Columns(group string) []string {
	return map[string][]string{
		"time":     {"completion_start_time", "created_at", "updated_at"},
		"io":       {"input", "output"},
		"metadata": {"metadata"},
		"model":    {"provided_model_name", "model_id", "model_parameters", "input_price", "output_price", "total_price"},
		"usage": {"usage_details", "cost_details", "total_cost", "calculated_input_cost", "calculated_output_cost",
			"calculated_total_cost", "usage", "usage_pricing_tier_id", "usage_pricing_tier_name"},
		"prompt":  {"prompt_id", "prompt_name", "prompt_version"},
		"metrics": {"latency", "time_to_first_token"},
	}[group]
}
