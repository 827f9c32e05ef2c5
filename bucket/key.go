package bucket

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tmpPrefix starts the names of the local store's in-progress files. Keys may
// not use it, so a listing can skip such files without hiding an object.
const tmpPrefix = ".lakefuse-tmp-"

// maxKeyLen is S3's limit on a full object key (location prefix included),
// applied to every store so a lake can move between them.
const maxKeyLen = 1024

// ValidateKey reports why key cannot name an object, wrapping ErrInvalidKey,
// or nil when it can. Every Bucket returned by this package checks keys with
// it, so callers need not; it is exported for callers that build keys and want
// to fail early.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w %.40q...: %d bytes, more than %d", ErrInvalidKey, key, len(key), maxKeyLen)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w %q: starts with \"/\" (keys are relative to the location)", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, err)
		}
	}
	return nil
}

// validatePrefix checks a List prefix: every complete segment must be valid,
// the last one may be partial or empty ("a/b", "a/b/" and "a/b=" all match
// keys).
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w: prefix %q starts with \"/\" (prefixes are relative to the location)", ErrInvalidKey, prefix)
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		var err error
		if i < len(segs)-1 {
			err = checkSegment(seg)
		} else {
			err = checkChars(seg)
		}
		if err != nil {
			return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, err)
		}
	}
	return nil
}

type segmentError string

func (e segmentError) Error() string { return string(e) }

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return segmentError(`empty path segment ("//" or a trailing "/")`)
	case seg == "." || seg == "..":
		return segmentError(`"." and ".." segments are not allowed`)
	case strings.HasPrefix(seg, tmpPrefix):
		return segmentError(fmt.Sprintf("segments starting with %q are reserved for temporary files", tmpPrefix))
	}
	return checkChars(seg)
}

func checkChars(seg string) error {
	if !utf8.ValidString(seg) {
		return segmentError("not valid UTF-8")
	}
	for _, r := range seg {
		switch {
		case r == 0:
			return segmentError("contains a NUL byte")
		case r == '\\':
			return segmentError(`contains a backslash (use "/" between segments)`)
		case r < 0x20 || r == 0x7f:
			// S3 listings are XML, which cannot carry most control characters.
			return segmentError(fmt.Sprintf("contains the control character %U", r))
		}
	}
	return nil
}
