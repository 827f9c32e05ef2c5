package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lakefuse/lakefuse/schema"
)

// ErrPolicy: the policy file is invalid.
var ErrPolicy = errors.New("invalid redaction policy")

// Actions of a rule.
const (
	Drop = "drop"
	Hash = "hash"
	Mask = "mask"
)

// Policy is a redaction policy file (YAML or JSON; JSON is YAML).
type Policy struct {
	// Version of the policy format: 1.
	Version int `json:"version" yaml:"version"`
	// HMACKeyEnv names the environment variable that holds the HMAC key of
	// hash rules. The key itself is never part of a policy, a manifest or a
	// log.
	HMACKeyEnv string `json:"hmac_key_env,omitempty" yaml:"hmac_key_env"`
	// Detectors enabled; nil means all of them, an empty list none.
	Detectors *[]string `json:"detectors" yaml:"detectors"`
	// DetectIn lists the columns the detectors scan, as column (every
	// table that has it) or table.column; nil means DefaultDetectIn.
	DetectIn *[]string `json:"detect_in" yaml:"detect_in"`
	// DetectKeys scans the keys of JSON objects too, not only the values.
	DetectKeys bool `json:"detect_keys,omitempty" yaml:"detect_keys"`
	// HashIDs lists the kinds of id whose every column is hashed, so that
	// joins still work: trace, observation, session, user.
	HashIDs []string `json:"hash_ids,omitempty" yaml:"hash_ids"`
	// Tables maps a table name (or "*", every table with the column) to
	// rules per column.
	Tables map[string]map[string]FieldRule `json:"tables,omitempty" yaml:"tables"`
}

// DefaultDetectIn is where the detectors look when a policy does not say:
// the free-form JSON of every table.
var DefaultDetectIn = []string{"input", "output", "metadata", "expected_output", "experiment_item_metadata"}

// FieldRule is what happens to one column: a whole-column Action, or
// JSON paths (or bare key names, matched at any depth) per action.
type FieldRule struct {
	Action string   `json:"action,omitempty"`
	Drop   []string `json:"drop,omitempty" yaml:"drop"`
	Hash   []string `json:"hash,omitempty" yaml:"hash"`
	Mask   []string `json:"mask,omitempty" yaml:"mask"`
}

// UnmarshalYAML reads a rule written as an action ("hash") or a mapping of
// actions to paths ({drop: [password]}).
func (r *FieldRule) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&r.Action)
	}
	type plain FieldRule
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = FieldRule(p)
	return nil
}

// LoadPolicy reads and checks a policy file.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("redaction policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy reads a policy from YAML or JSON text and checks it.
func ParsePolicy(data []byte) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// idKinds are the kinds of id HashIDs takes, with every column that holds
// one. object_id columns hold one only for rows of the matching object_type.
var idKinds = map[string][]idColumn{
	"trace": {
		{"traces", "id", ""}, {"traces", "html_path", ""}, {"observations", "trace_id", ""}, {"scores", "trace_id", ""}, {"media", "trace_id", ""},
		{"dataset_run_items", "trace_id", ""}, {"dataset_items", "source_trace_id", ""},
		{"comments", "object_id", "TRACE"}, {"annotation_queue_items", "object_id", "TRACE"},
	},
	"observation": {
		{"observations", "id", ""}, {"observations", "parent_observation_id", ""}, {"scores", "observation_id", ""},
		{"media", "observation_id", ""}, {"dataset_run_items", "observation_id", ""}, {"dataset_items", "source_observation_id", ""},
		{"comments", "object_id", "OBSERVATION"}, {"annotation_queue_items", "object_id", "OBSERVATION"},
	},
	"session": {
		{"sessions", "id", ""}, {"traces", "session_id", ""}, {"observations", "session_id", ""}, {"scores", "session_id", ""},
		{"comments", "object_id", "SESSION"}, {"annotation_queue_items", "object_id", "SESSION"},
	},
	"user": {{"traces", "user_id", ""}, {"observations", "user_id", ""}},
}

type idColumn struct {
	table, column, objectType string
}

// Validate reports every problem of the policy at once.
func (p *Policy) Validate() error {
	var errs []error
	if p.Version != 1 {
		errs = append(errs, fmt.Errorf("version %d: this lakefuse reads version 1", p.Version))
	}
	if p.Detectors != nil {
		for _, d := range *p.Detectors {
			if !slices.Contains(kindNames[:], d) {
				errs = append(errs, fmt.Errorf("detectors: unknown detector %q (known: %s)", d, strings.Join(kindNames[:], ", ")))
			}
		}
	}
	if p.DetectIn != nil {
		for _, c := range *p.DetectIn {
			if err := checkColumn(c, true); err != nil {
				errs = append(errs, fmt.Errorf("detect_in: %w", err))
			}
		}
	}
	for _, k := range p.HashIDs {
		if _, ok := idKinds[k]; !ok {
			errs = append(errs, fmt.Errorf("hash_ids: unknown id kind %q (known: trace, observation, session, user)", k))
		}
	}
	needKey := len(p.HashIDs) > 0
	for tname, cols := range p.Tables {
		var tables []*schema.Table
		if tname == "*" {
			tables = schema.Tables()
		} else if t, err := schema.Lookup(tname); err != nil {
			errs = append(errs, fmt.Errorf("tables: %w", err))
			continue
		} else {
			tables = []*schema.Table{t}
		}
		for cname, r := range cols {
			where := tname + "." + cname
			found := false
			for _, t := range tables {
				c, ok := t.Column(cname)
				if !ok {
					continue
				}
				found = true
				if err := checkRule(t, c, r); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", where, err))
					break
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("%s: no such column", where))
			}
			if r.Action == Hash || len(r.Hash) > 0 {
				needKey = true
			}
		}
	}
	if needKey && p.HMACKeyEnv == "" {
		errs = append(errs, errors.New("hash rules need hmac_key_env: the environment variable that holds the HMAC key"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrPolicy, errors.Join(errs...))
	}
	return nil
}

// checkColumn checks a detect_in entry: column or table.column of a string
// column.
func checkColumn(s string, _ bool) error {
	tname, cname, ok := strings.Cut(s, ".")
	tables := schema.Tables()
	if ok {
		t, err := schema.Lookup(tname)
		if err != nil {
			return err
		}
		tables = []*schema.Table{t}
	} else {
		cname = tname
	}
	for _, t := range tables {
		if _, ok := t.Column(cname); ok {
			return nil
		}
	}
	return fmt.Errorf("%q: no such column", s)
}

func checkRule(t *schema.Table, c schema.Column, r FieldRule) error {
	k := kindOf(t, c.Name)
	if k == fNone {
		return fmt.Errorf("a %s column cannot be redacted", schema.TypeName(c))
	}
	switch r.Action {
	case "":
		if len(r.Drop)+len(r.Hash)+len(r.Mask) == 0 {
			return errors.New("empty rule: give an action (drop, hash, mask) or paths under drop, hash or mask")
		}
		if !c.JSON {
			return errors.New("paths apply to JSON columns only; give an action (drop, hash, mask)")
		}
		for _, ps := range [][]string{r.Drop, r.Hash, r.Mask} {
			for _, s := range ps {
				if _, err := parsePath(s); err != nil {
					return err
				}
			}
		}
	case Drop:
		if slices.Contains(t.Key, c.Name) || c.Name == t.TimeColumn {
			return fmt.Errorf("%s identifies rows and cannot be dropped; hash it", c.Name)
		}
	case Hash, Mask:
		if k == fMap {
			return fmt.Errorf("a %s column can only be dropped", schema.TypeName(c))
		}
	default:
		return fmt.Errorf("unknown action %q (drop, hash, mask)", r.Action)
	}
	if r.Action != "" && len(r.Drop)+len(r.Hash)+len(r.Mask) > 0 {
		return errors.New("give either an action or paths, not both")
	}
	return nil
}

// Hash is the policy's identity: the SHA-256 of its canonical JSON, so that
// the same rules written as YAML or JSON, in any order, hash alike.
func (p *Policy) Hash() string {
	c := *p
	c.Tables = map[string]map[string]FieldRule{}
	for t, r := range p.Tables {
		c.Tables[t] = map[string]FieldRule{}
		for k, fr := range r {
			fr.Drop, fr.Hash, fr.Mask = sorted(fr.Drop), sorted(fr.Hash), sorted(fr.Mask)
			c.Tables[t][k] = fr
		}
	}
	c.HashIDs = sorted(c.HashIDs)
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sorted(s []string) []string {
	if s == nil {
		return nil
	}
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
