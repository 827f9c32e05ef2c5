package bucket

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
