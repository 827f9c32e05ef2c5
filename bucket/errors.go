package bucket

import (
	"regexp"
	"strings"
)

// kindError is an error of a kind callers branch on (ErrNotFound, ...), with
// a message written for the user instead of the kind's generic text, and the
// store's own error inside for errors.As.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.err }

// urlQuery matches a URL's query, where a SAS or a resumable upload's id
// rides.
var urlQuery = regexp.MustCompile(`(https?://[^\s"'?]*)\?[^\s"']*`)

// scrubSecrets removes what must never be printed from a message: URL
// queries and the given secrets (keys, tokens, connection strings) wherever
// they appear.
func scrubSecrets(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return urlQuery.ReplaceAllString(msg, "$1?xxxxx")
}
