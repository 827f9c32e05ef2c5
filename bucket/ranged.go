package bucket

import (
	"fmt"
	"io"
)

// readRange is the ReadAt of a cloud object of size bytes, named name in
// messages, read by one ranged GET per call: get opens bytes [off, end) of
// the version seen at Open (its errors are returned as they are), and
// bodyErr words an error reading that body, at being the offset reached.
func readRange(p []byte, off, size int64, name string,
	get func(off, end int64) (io.ReadCloser, error),
	bodyErr func(at int64, err error) error) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", name, off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), size)
	body, err := get(off, end)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:end-off])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the object is longer than this body
		}
		return n, bodyErr(off+int64(n), err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
