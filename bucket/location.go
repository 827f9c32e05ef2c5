package bucket

import (
	"fmt"
	"net/url"
	"strings"
)

// location is a parsed LOCATION argument.
type location struct {
	scheme string // "file", "s3", "gs", "az" or "mem"
	bucket string // s3 and gs: the bucket; mem: the name
	prefix string // s3 and gs: key prefix without leading or trailing "/"
	path   string // file: the directory as given
}

// key is the store's name for key below the location's prefix; for "" it is
// the prefix itself (with a trailing "/" when there is one).
func (l location) key(key string) string {
	if l.prefix == "" {
		return key
	}
	return l.prefix + "/" + key
}

// name is key's name in messages: the location, then "/" and key.
func (l location) name(key string) string {
	if key == "" {
		return l.String()
	}
	return l.String() + "/" + key
}

func (l location) String() string {
	switch l.scheme {
	case "file":
		return l.path
	case "mem":
		return "mem://" + l.bucket
	}
	s := l.scheme + "://" + l.bucket
	if l.prefix != "" {
		s += "/" + l.prefix
	}
	return s
}

// parseLocation parses a path, file:///abs/path, s3://bucket/prefix,
// gs://bucket/prefix or mem://name, reporting every problem it finds at once.
// Errors wrap ErrBadLocation and quote the location with any password in it
// masked.
func parseLocation(loc string) (location, error) {
	fail := func(problems ...string) (location, error) {
		return location{}, fmt.Errorf("%w %q: %s", ErrBadLocation, redact(loc), strings.Join(problems, "; "))
	}
	if strings.TrimSpace(loc) == "" {
		return fail("empty (use a directory, file:///dir, s3://bucket/prefix or gs://bucket/prefix)")
	}
	scheme, rest, isURL := strings.Cut(loc, "://")
	if !isURL {
		if strings.ContainsRune(loc, 0) {
			return fail("contains a NUL byte")
		}
		return location{scheme: "file", path: loc}, nil
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "file", "s3", "gs", "mem", "az":
	default:
		return fail(fmt.Sprintf("unknown scheme %q (use a directory, file:///dir, s3://bucket/prefix or gs://bucket/prefix)", scheme))
	}

	var problems []string
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		problems = append(problems, fmt.Sprintf("%q is not allowed: locations take no query or fragment", path[i:i+1]))
		path = path[:i]
	}
	if i := strings.IndexAny(authority, "?#"); i >= 0 {
		problems = append(problems, fmt.Sprintf("%q is not allowed: locations take no query or fragment", authority[i:i+1]))
		authority = authority[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		problems = append(problems, "credentials do not belong in the location: use the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, GCS_HMAC_ACCESS_KEY_ID)")
		authority = authority[i+1:]
	}

	l := location{scheme: scheme}
	switch scheme {
	case "file":
		if authority != "" && authority != "localhost" {
			problems = append(problems, fmt.Sprintf("file URLs name no host (got %q): write file:///abs/path", authority))
		}
		// Only file URLs are %-decoded: in s3 and gs URLs "%" is part of the
		// key, as in Hive-escaped partition values.
		p, err := url.PathUnescape(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("bad %%-escape in %q", path))
		}
		if p == "" {
			problems = append(problems, "missing directory: write file:///abs/path")
		}
		l.path = "/" + p
	case "mem":
		l.bucket = authority
	case "az":
		l.bucket = authority
		problems = append(problems, containerNameProblems(authority)...)
		l.prefix = strings.Trim(path, "/")
		if l.prefix != "" {
			if err := checkPath(l.prefix); err != nil {
				problems = append(problems, fmt.Sprintf("prefix %q: %s", l.prefix, err))
			}
		}
	case "s3", "gs":
		l.bucket = authority
		problems = append(problems, bucketNameProblems(scheme, authority)...)
		l.prefix = strings.Trim(path, "/")
		if l.prefix != "" {
			if err := checkPath(l.prefix); err != nil {
				problems = append(problems, fmt.Sprintf("prefix %q: %s", l.prefix, err))
			}
		}
	}
	if len(problems) > 0 {
		return fail(problems...)
	}
	return l, nil
}

// checkPath validates a slash-separated prefix the way keys are validated.
func checkPath(p string) error {
	for seg := range strings.SplitSeq(p, "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

// bucketNameProblems applies the S3 and GCS naming rules, so that a typo is
// reported before any request is made.
func bucketNameProblems(scheme, name string) []string {
	if name == "" {
		return []string{fmt.Sprintf("missing bucket name: write %s://BUCKET/prefix", scheme)}
	}
	var problems []string
	if h, port, ok := strings.Cut(name, ":"); ok {
		problems = append(problems, fmt.Sprintf("bucket %q has a port %q: set the endpoint with --s3-endpoint instead", h, port))
		if name = h; name == "" {
			return problems
		}
	}
	allowed := "lowercase letters, digits, '.' and '-'"
	if scheme == "gs" {
		allowed = "lowercase letters, digits, '.', '-' and '_'"
	}
	if n := len(name); n < 3 || n > 63 {
		problems = append(problems, fmt.Sprintf("bucket name %q is %d characters long, not 3 to 63", name, n))
	}
	bad := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' && scheme == "gs"
		bad = bad || !ok
	}
	if bad {
		problems = append(problems, fmt.Sprintf("bucket name %q may only hold %s", name, allowed))
	}
	isAlnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		problems = append(problems, fmt.Sprintf("bucket name %q must start and end with a lowercase letter or digit", name))
	}
	if strings.Contains(name, "..") {
		problems = append(problems, fmt.Sprintf("bucket name %q has two dots in a row", name))
	}
	return problems
}

// containerNameProblems applies Azure's container naming rules (3 to 63
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit), so that a typo is reported before any request is made.
func containerNameProblems(name string) []string {
	if name == "" {
		return []string{"missing container name: write az://CONTAINER/prefix (the account comes from AZURE_STORAGE_ACCOUNT or the connection string)"}
	}
	var problems []string
	if h, port, ok := strings.Cut(name, ":"); ok {
		problems = append(problems, fmt.Sprintf("container %q has a port %q: set the endpoint with --azure-endpoint instead", h, port))
		if name = h; name == "" {
			return problems
		}
	}
	if n := len(name); n < 3 || n > 63 {
		problems = append(problems, fmt.Sprintf("container name %q is %d characters long, not 3 to 63", name, n))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			problems = append(problems, fmt.Sprintf("container name %q may only hold lowercase letters, digits and '-'", name))
			break
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		problems = append(problems, fmt.Sprintf("container name %q must start and end with a lowercase letter or digit", name))
	}
	if strings.Contains(name, "--") {
		problems = append(problems, fmt.Sprintf("container name %q has two hyphens in a row", name))
	}
	return problems
}

// redact masks user info, query and fragment, where people put secrets, so
// that a location can be quoted in an error.
func redact(loc string) string {
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok {
		return loc
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i+1] + "xxxxx"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	return scheme + "://" + rest
}
