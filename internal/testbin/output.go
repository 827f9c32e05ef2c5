package testbin

import (
	"bytes"
	"sync"
)

// Output collects a server's output for error messages; it is safe to
// write from the process and read from the test at once.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
