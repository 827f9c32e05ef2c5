package bucket

import (
	"net/http"
	"testing"
)

// SetGCSTestHooks makes the GCS driver believe it is (not) on Google Cloud,
// so that no test probes the metadata server, and sends its token requests
// through client.
func SetGCSTestHooks(t testing.TB, onGCE bool, client *http.Client) {
	oldGCE, oldClient := gcsOnGCE, gcsTokenClient
	gcsOnGCE = func() bool { return onGCE }
	gcsTokenClient = client
	t.Cleanup(func() { gcsOnGCE, gcsTokenClient = oldGCE, oldClient })
}
