package bucket_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/bucket/buckettest"
	"github.com/lakefuse/lakefuse/internal/gcstest"
)

// TestGCS runs the suite against the GCS emulator on the JSON API driver,
// below a prefix and at a bucket's root.
func TestGCS(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	name := srv.NewBucket(t, "suite")
	var n atomic.Int64
	start := time.Now()
	t.Run("prefix", func(t *testing.T) {
		buckettest.Run(t, func(t *testing.T) bucket.Bucket {
			loc := fmt.Sprintf("gs://%s/lake/run-%d", name, n.Add(1))
			b := open(t, loc, bucket.Options{Retry: fast})
			if b.String() != loc {
				t.Errorf("String() = %q, want %q", b.String(), loc)
			}
			return b
		})
	})
	t.Run("root", func(t *testing.T) {
		buckettest.Run(t, func(t *testing.T) bucket.Bucket {
			return open(t, "gs://"+srv.NewBucket(t, "root"), bucket.Options{Retry: fast})
		})
	})
	t.Logf("conformance suite on the GCS emulator, twice: %v", time.Since(start).Round(time.Millisecond))
}

// TestGCSDriverChoice: gs:// takes the JSON API unless HMAC keys, --gcs-hmac
// or an S3 endpoint ask for the XML API.
func TestGCSDriverChoice(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	name := srv.NewBucket(t, "choice")
	// The emulator speaks only the JSON API: the S3 driver fails on it.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	open(t, "gs://"+name, bucket.Options{Retry: fast})
	if _, err := bucket.Open(context.Background(), "gs://"+name, bucket.Options{GCSHMAC: true, Retry: fast, S3Endpoint: srv.Endpoint()}); err == nil {
		t.Error("--gcs-hmac with an S3 endpoint opened the emulator, which has no XML API")
	}
	// An HMAC key in the AWS variables (the fallback documented before ADC)
	// still selects the XML API, which the emulator does not speak.
	t.Setenv("AWS_ACCESS_KEY_ID", "GOOG1EEXAMPLEHMACID")
	if _, err := bucket.Open(context.Background(), "gs://"+name, bucket.Options{Retry: fast}); err == nil {
		t.Error("a GCS HMAC key in AWS_ACCESS_KEY_ID opened the emulator on the JSON API, want the XML API")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("GCS_HMAC_ACCESS_KEY_ID", "GOOG1EXAMPLE")
	_, err := bucket.Open(context.Background(), "gs://"+name, bucket.Options{Retry: fast})
	if !errors.Is(err, bucket.ErrBadCredentials) || !strings.Contains(err.Error(), "GCS_HMAC_SECRET_ACCESS_KEY") {
		t.Errorf("with half an HMAC key: %v, want the S3 driver's complaint about the missing secret", err)
	}
}

// TestGCSAbortLeavesNothing: an aborted, cancelled or failed write leaves no
// object, also after several chunks went to the store.
func TestGCSAbortLeavesNothing(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	name := srv.NewBucket(t, "abort")
	b := open(t, "gs://"+name+"/p", bucket.Options{Retry: fast})
	big := bytes.Repeat([]byte("x"), 3*8<<20+5)

	w, err := b.NewWriter(context.Background(), "aborted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	w, err = b.NewWriter(ctx, "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := w.Write([]byte("more")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel = %v, want context.Canceled", err)
	}
	if err := w.Commit(); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit after cancel = %v, want context.Canceled", err)
	}
	if keys := srv.Keys(t, name); len(keys) != 0 {
		t.Errorf("aborted and cancelled writes left objects: %q", keys)
	}
}

func TestGCSMissingBucket(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	_, err := bucket.Open(context.Background(), "gs://no-such-bucket-here/x", bucket.Options{Retry: fast})
	if !errors.Is(err, bucket.ErrNoBucket) {
		t.Fatalf("Open = %v, want ErrNoBucket", err)
	}
	if !strings.Contains(err.Error(), `bucket "no-such-bucket-here" does not exist`) {
		t.Errorf("the message should name the bucket: %v", err)
	}
}

func TestGCSObjectReplacedWhileOpen(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	b := open(t, "gs://"+srv.NewBucket(t, "replaced"), bucket.Options{Retry: fast})
	buckettest.Put(t, b, "f", []byte("version one"))
	o, err := b.Open(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	buckettest.Put(t, b, "f", []byte("version two"))
	p := make([]byte, 3)
	if _, err := o.ReadAt(p, 8); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("ReadAt of a replaced object = %q, %v; want an error saying it changed", p, err)
	}
}

// noGCPEnv clears every way the client could find credentials or an
// emulator, so a test controls them.
func noGCPEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GCS_HMAC_ACCESS_KEY_ID",
		"GCS_HMAC_SECRET_ACCESS_KEY", "GCE_METADATA_HOST", "CLOUDSDK_CONFIG"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
}

// TestGCSNoCredentials: without Application Default Credentials Open says
// how a Google Cloud user signs in, before any request.
func TestGCSNoCredentials(t *testing.T) {
	noGCPEnv(t)
	bucket.SetGCSTestHooks(t, false, nil)
	_, err := bucket.Open(context.Background(), "gs://some-bucket/lake", bucket.Options{})
	if !errors.Is(err, bucket.ErrBadCredentials) {
		t.Fatalf("Open = %v, want ErrBadCredentials", err)
	}
	for _, want := range []string{"gs://some-bucket/lake", "gcloud auth application-default login", "GOOGLE_APPLICATION_CREDENTIALS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message should mention %q: %v", want, err)
		}
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	_, err = bucket.Open(context.Background(), "gs://some-bucket/lake", bucket.Options{})
	if !errors.Is(err, bucket.ErrBadCredentials) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("with a missing key file: %v, want ErrBadCredentials naming the file", err)
	}
}

// fakeGoogle answers token requests (echoing what it was sent, the worst
// a server could do) and storage requests with status.
func fakeGoogle(t *testing.T, tokenStatus, storageStatus int, storageBody string) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/token") {
			w.Header().Set("Content-Type", "application/json")
			if tokenStatus != http.StatusOK {
				w.WriteHeader(tokenStatus)
				fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"bad: %s"}`, strings.ReplaceAll(string(body), `"`, `'`))
				return
			}
			fmt.Fprint(w, `{"access_token":"ya29.secret-access-token-0123456789","token_type":"Bearer","expires_in":3600}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(storageStatus)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"reason":"forbidden"}]}}`,
			storageStatus, storageBody+" auth="+r.Header.Get("Authorization"), storageBody)
	}))
	t.Cleanup(srv.Close)
	// Every token request, whatever its host, goes to srv.
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = "http", strings.TrimPrefix(srv.URL, "http://"), ""
		return http.DefaultTransport.RoundTrip(r)
	})}
	return srv, client
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// credentialFiles writes a service account key and a gcloud user login.
func credentialFiles(t *testing.T, tokenURL string) (files map[string]string, secrets []string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))}))
	dir := t.TempDir()
	write := func(name string, v map[string]string) string {
		data, _ := json.Marshal(v)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files = map[string]string{
		"service_account": write("sa.json", map[string]string{
			"type": "service_account", "project_id": "p", "private_key_id": "0123456789abcdef0123456789abcdef01234567",
			"private_key": pemKey, "client_email": "lake@p.iam.gserviceaccount.com", "client_id": "1",
			"token_uri": tokenURL + "/token"}),
		"authorized_user": write("user.json", map[string]string{
			"type": "authorized_user", "client_id": "764086051850-x.apps.googleusercontent.com",
			"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0refresh-token-secret-abcdefghijklmnop"}),
	}
	lines := strings.Split(pemKey, "\n")
	secrets = []string{lines[1], lines[len(lines)-3], "0123456789abcdef0123456789abcdef01234567",
		"d-FL95Q19q7MQmFpd7hHD0Ty", "1//0refresh-token-secret", "ya29.secret-access-token"}
	return files, secrets
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestGCSErrorsHoldNoSecret: whatever goes wrong, no private key, refresh
// token, client secret or access token appears in an error, and the message
// says what to do.
func TestGCSErrorsHoldNoSecret(t *testing.T) {
	noGCPEnv(t)
	for _, tc := range []struct {
		name                       string
		tokenStatus, storageStatus int
		storageBody                string
		kind                       error
		want                       string
	}{
		{"token refused", http.StatusBadRequest, http.StatusOK, "", bucket.ErrBadCredentials, "application-default login"},
		{"401", http.StatusOK, http.StatusUnauthorized, "Invalid Credentials", bucket.ErrBadCredentials, "GOOGLE_APPLICATION_CREDENTIALS"},
		{"403", http.StatusOK, http.StatusForbidden,
			"lake@p.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).",
			bucket.ErrPermission, "lacks storage.objects.list on bucket \"lake-bucket\""},
		{"404", http.StatusOK, http.StatusNotFound, "The specified bucket does not exist.", bucket.ErrNoBucket, `bucket "lake-bucket" does not exist`},
		// Any other answer is quoted, less what must not be shown.
		{"500", http.StatusOK, http.StatusInternalServerError, "backend error", nil, "gs://lake-bucket/lake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, client := fakeGoogle(t, tc.tokenStatus, tc.storageStatus, tc.storageBody)
			bucket.SetGCSTestHooks(t, false, client)
			files, secrets := credentialFiles(t, srv.URL)
			for typ, file := range files {
				t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
				_, err := bucket.Open(context.Background(), "gs://lake-bucket/lake",
					bucket.Options{GCSEndpoint: srv.URL, Retry: fast})
				if err == nil || tc.kind != nil && !errors.Is(err, tc.kind) {
					t.Fatalf("%s: Open = %v, want %v", typ, err, tc.kind)
				}
				t.Logf("%s: %v", typ, err)
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: the message should say %q: %v", typ, tc.want, err)
				}
				for _, s := range secrets {
					if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
						t.Errorf("%s: the error shows the secret %q: %v", typ, s, err)
					}
				}
			}
		})
	}
}

// TestGCSReadOnlyAccount: an account that may list but not create gets
// ErrPermission naming the object and the permission it lacks.
func TestGCSReadOnlyAccount(t *testing.T) {
	noGCPEnv(t)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/o") {
			fmt.Fprint(w, `{"kind":"storage#objects"}`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"code":403,"message":"reader@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).","errors":[{"reason":"forbidden"}]}}`)
	}))
	defer store.Close()
	tokens, client := fakeGoogle(t, http.StatusOK, http.StatusOK, "")
	bucket.SetGCSTestHooks(t, false, client)
	files, _ := credentialFiles(t, tokens.URL)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", files["service_account"])
	b := open(t, "gs://lake-bucket/lake", bucket.Options{GCSEndpoint: store.URL, Retry: fast})
	w, err := b.NewWriter(context.Background(), "traces/part-1.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = w.Write([]byte("data")); err == nil {
		err = w.Commit()
	}
	if !errors.Is(err, bucket.ErrPermission) ||
		!strings.Contains(err.Error(), "gs://lake-bucket/lake/traces/part-1.parquet") || !strings.Contains(err.Error(), "storage.objects.create") {
		t.Errorf("write with a read-only account = %v, want ErrPermission naming the object and storage.objects.create", err)
	}
	if err := b.Create(context.Background(), "lease/1.json", []byte("x")); !errors.Is(err, bucket.ErrPermission) {
		t.Errorf("Create with a read-only account = %v, want ErrPermission", err)
	}
}
