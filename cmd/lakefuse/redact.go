package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/redact"
)

// loadRedactor reads a --redact policy file; nil when path is empty. The
// HMAC key comes from the environment variable the policy names.
func loadRedactor(path string) (*redact.Redactor, error) {
	if path == "" {
		return nil, nil
	}
	p, err := redact.LoadPolicy(path)
	if err != nil {
		return nil, &exitError{2, err}
	}
	r, err := redact.New(p, os.Getenv)
	if err != nil {
		return nil, &exitError{2, fmt.Errorf("%s: %w", path, err)}
	}
	return r, nil
}

func redactionInfo(r *redact.Redactor) *hive.Redaction {
	return &hive.Redaction{PolicySHA256: r.PolicyHash(), Detectors: r.DetectorNames(), HMACKeyEnv: r.KeyEnv()}
}

// printRedaction prints what a redaction policy removed, per table, column
// and detector or rule.
func printRedaction(w io.Writer, policy string, counts []redact.Count) {
	fmt.Fprintf(w, "\nredaction policy %s:", policy)
	if len(counts) == 0 {
		fmt.Fprintln(w, " nothing found to redact")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tCOLUMN\tDETECTOR/RULE\tCOUNT")
	for _, c := range counts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", c.Table, c.Column, c.What, c.N)
	}
	_ = tw.Flush()
}
