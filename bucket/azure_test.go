package bucket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/bucket/buckettest"
	"github.com/lakefuse/lakefuse/internal/azuritetest"
	"github.com/lakefuse/lakefuse/internal/miniotest"
)

// azureKeyEnv sets the account and key variables for the rest of t and
// clears the others.
func azureKeyEnv(t *testing.T, srv *azuritetest.Server) {
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account())
	t.Setenv("AZURE_STORAGE_KEY", srv.Key())
}

// TestAzure runs the suite against Azurite with AZURE_STORAGE_ACCOUNT and
// AZURE_STORAGE_KEY, below a prefix, listing 100 blobs a page so that the
// suite's 1,234-key listing crosses thirteen pages.
func TestAzure(t *testing.T) {
	srv := azuritetest.Shared(t)
	azureKeyEnv(t, srv)
	name := srv.NewContainer(t, "suite")
	var n atomic.Int64
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		loc := fmt.Sprintf("az://%s/lake/run-%d", name, n.Add(1))
		b := open(t, loc, bucket.Options{AzureEndpoint: srv.Endpoint(), Retry: fast})
		if b.String() != loc {
			t.Errorf("String() = %q, want %q", b.String(), loc)
		}
		bucket.SetAzurePageSize(b, 100)
		return b
	})
}

// TestAzureConnectionString runs the suite with only
// AZURE_STORAGE_CONNECTION_STRING (which carries Azurite's endpoint), one
// container per test and no prefix.
func TestAzureConnectionString(t *testing.T) {
	srv := azuritetest.Shared(t)
	srv.Env(t)
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		return open(t, "az://"+srv.NewContainer(t, "conn"), bucket.Options{Retry: fast})
	})
}

// TestAzureSAS runs the suite with an account SAS instead of a key: Move's
// server-side copy must carry the SAS on its source too.
func TestAzureSAS(t *testing.T) {
	srv := azuritetest.Shared(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_KEY", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account())
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "?"+srv.SAS(t, "rwdlac"))
	name := srv.NewContainer(t, "sas")
	var n atomic.Int64
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		return open(t, fmt.Sprintf("az://%s/run-%d", name, n.Add(1)), bucket.Options{AzureEndpoint: srv.Endpoint(), Retry: fast})
	})
}

// TestAzureTransientFaults runs the whole suite while every fifth request
// to Azurite fails (503, 500, 429, reset connections, cut ranged reads):
// retries must hide every fault, listings resume across pages.
func TestAzureTransientFaults(t *testing.T) {
	srv := azuritetest.Shared(t)
	azureKeyEnv(t, srv)
	proxy := newFaultProxy(t, strings.TrimSuffix(srv.Endpoint(), "/"+srv.Account()), 5)
	name := srv.NewContainer(t, "faults")
	var n atomic.Int64
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		b := open(t, fmt.Sprintf("az://%s/run-%d", name, n.Add(1)),
			bucket.Options{AzureEndpoint: proxy.URL + "/" + srv.Account(), Retry: fast})
		bucket.SetAzurePageSize(b, 250)
		return b
	})
}

// committedBlocks is the blob's committed block list, read around the code
// under test; -1 when the blob does not exist.
func committedBlocks(t *testing.T, srv *azuritetest.Server, containerName, blobName string) (committed, uncommitted int) {
	t.Helper()
	bb := srv.Client(containerName).NewBlockBlobClient(blobName)
	resp, err := bb.GetBlockList(context.Background(), blockblob.BlockListTypeAll, nil)
	if err != nil {
		if strings.Contains(err.Error(), "BlobNotFound") {
			return -1, -1
		}
		t.Fatal(err)
	}
	return len(resp.CommittedBlocks), len(resp.UncommittedBlocks)
}

// TestAzureWriter: a large object is staged as 8 MiB blocks committed at
// once; a small one is a single Put Blob; an aborted or cancelled write of
// several blocks leaves no blob behind, and an aborted overwrite keeps the
// old one.
func TestAzureWriter(t *testing.T) {
	srv := azuritetest.Shared(t)
	azureKeyEnv(t, srv)
	name := srv.NewContainer(t, "writer")
	b := open(t, "az://"+name+"/p", bucket.Options{AzureEndpoint: srv.Endpoint()})
	ctx := context.Background()

	big := bytes.Repeat([]byte("0123456789abcdef"), (20<<20)/16+7)
	buckettest.Put(t, b, "big", big)
	if c, u := committedBlocks(t, srv, name, "p/big"); c != 3 || u != 0 {
		t.Errorf("20 MiB object: %d committed and %d uncommitted blocks, want 3 and 0", c, u)
	}
	buckettest.Put(t, b, "small", []byte("x"))
	if c, _ := committedBlocks(t, srv, name, "p/small"); c != 0 {
		t.Errorf("a small object has %d blocks, want a single Put Blob (0)", c)
	}

	w, err := b.NewWriter(ctx, "aborted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 3*8<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "aborted"); !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("Stat after Abort: %v, want ErrNotFound", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	w, err = b.NewWriter(cctx, "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("y"), 2*8<<20+1)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Commit(); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit after cancel: %v, want context.Canceled", err)
	}
	if keys := buckettest.Keys(t, b, ""); strings.Join(keys, ",") != "big,small" {
		t.Errorf("keys after abort and cancel: %q", keys)
	}

	// An aborted overwrite of several blocks keeps the old blob whole.
	w, err = b.NewWriter(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("z"), 9<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := buckettest.Get(t, b, "big"); !bytes.Equal(got, big) {
		t.Error("an aborted overwrite changed the blob")
	}
}

// TestAzureErrors: wrong names and credentials fail at Open with the
// kind callers branch on, a message naming the account and container and
// what to check, and never a key, SAS signature or connection string.
func TestAzureErrors(t *testing.T) {
	srv := azuritetest.Shared(t)
	ctx := context.Background()
	name := srv.NewContainer(t, "errors")
	sasToken := srv.SAS(t, "rwdlac")
	q, _ := url.ParseQuery(sasToken)
	sig := q.Get("sig")
	readOnly := srv.SAS(t, "rl")
	roSig, _ := url.ParseQuery(readOnly)
	wrongKey := "d3Jvbmcta2V5LXRoYXQtaXMtYmFzZTY0LWFuZC1sb25nLWVub3VnaA=="
	wrongConn := strings.Replace(srv.ConnectionString(), srv.Key(), wrongKey, 1)
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/" + srv.Account()
	}()
	secrets := []string{srv.Key(), wrongKey, sig, url.QueryEscape(sig), roSig.Get("sig"), srv.ConnectionString(), wrongConn}

	for _, tc := range []struct {
		name     string
		env      map[string]string
		loc      string
		endpoint string
		kind     error
		want     []string
	}{
		{"missing container", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account(), "AZURE_STORAGE_KEY": srv.Key()},
			"az://no-such-container/x", srv.Endpoint(), bucket.ErrNoBucket,
			[]string{"no-such-container", srv.Account(), "does not exist", "az storage container create"}},
		{"wrong key", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account(), "AZURE_STORAGE_KEY": wrongKey},
			"az://" + name, srv.Endpoint(), bucket.ErrBadCredentials,
			[]string{name, srv.Account(), "AZURE_STORAGE_KEY"}},
		{"key not base64", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account(), "AZURE_STORAGE_KEY": "not base64!"},
			"az://" + name, srv.Endpoint(), bucket.ErrBadCredentials, []string{"AZURE_STORAGE_KEY", "base64"}},
		{"wrong SAS", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account(), "AZURE_STORAGE_SAS_TOKEN": strings.Replace(sasToken, "sig=", "sig=AAAA", 1)},
			"az://" + name, srv.Endpoint(), bucket.ErrBadCredentials, []string{name, srv.Account(), "AZURE_STORAGE_SAS_TOKEN"}},
		{"wrong connection string", map[string]string{"AZURE_STORAGE_CONNECTION_STRING": wrongConn},
			"az://" + name, "", bucket.ErrBadCredentials, []string{name, srv.Account(), "AZURE_STORAGE_CONNECTION_STRING"}},
		{"no credentials", map[string]string{}, "az://" + name, srv.Endpoint(), bucket.ErrBadCredentials,
			[]string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING"}},
		{"account without key", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account()}, "az://" + name, srv.Endpoint(),
			bucket.ErrBadCredentials, []string{"AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"}},
		{"unreachable endpoint", map[string]string{"AZURE_STORAGE_ACCOUNT": srv.Account(), "AZURE_STORAGE_SAS_TOKEN": sasToken},
			"az://" + name, closed, nil, []string{"cannot reach", name, srv.Account()}},
		{"bad account name", map[string]string{"AZURE_STORAGE_ACCOUNT": "My_Account", "AZURE_STORAGE_KEY": srv.Key()}, "az://" + name, "",
			bucket.ErrBadCredentials, []string{"My_Account", "AZURE_STORAGE_ACCOUNT", "3 to 24"}},
		{"bad container name", map[string]string{}, "az://Bad_Name/x", "", bucket.ErrBadLocation, []string{"Bad_Name", "lowercase"}},
		{"endpoint with a query", map[string]string{}, "az://" + name, srv.Endpoint() + "?" + sasToken, bucket.ErrBadLocation,
			[]string{"AZURE_STORAGE_SAS_TOKEN"}},
		{"sse", map[string]string{}, "az://" + name, "", bucket.ErrBadLocation, []string{"Azure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING"} {
				t.Setenv(k, tc.env[k])
			}
			opts := bucket.Options{AzureEndpoint: tc.endpoint, Retry: fast}
			if tc.name == "sse" {
				opts.SSE = bucket.SSES3
			}
			_, err := bucket.Open(ctx, tc.loc, opts)
			if err == nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("Open = %v, want %v", err, tc.kind)
			}
			t.Logf("%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}

	// A read-only SAS opens and reads, and a write fails with
	// ErrPermission, naming the object and not the SAS.
	t.Setenv("AZURE_STORAGE_KEY", "")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account())
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", readOnly)
	b := open(t, "az://"+name+"/ro", bucket.Options{AzureEndpoint: srv.Endpoint(), Retry: fast})
	if keys := buckettest.Keys(t, b, ""); len(keys) != 0 {
		t.Fatalf("keys %q", keys)
	}
	err := b.Create(ctx, "k", []byte("v"))
	if !errors.Is(err, bucket.ErrPermission) || !strings.Contains(err.Error(), "az://"+name+"/ro/k") {
		t.Fatalf("Create with a read-only SAS: %v, want ErrPermission naming the object", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}

// TestAzureCreateOverUncommitted: blocks staged by a writer that has not
// committed do not make the key taken, and a lease created meanwhile
// survives that writer's abort.
func TestAzureCreateOverUncommitted(t *testing.T) {
	srv := azuritetest.Shared(t)
	azureKeyEnv(t, srv)
	name := srv.NewContainer(t, "create")
	b := open(t, "az://"+name, bucket.Options{AzureEndpoint: srv.Endpoint()})
	ctx := context.Background()
	w, err := b.NewWriter(ctx, "lease")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 8<<20+1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, "lease", []byte("holder")); err != nil {
		t.Fatalf("Create over uncommitted blocks: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := buckettest.Get(t, b, "lease"); string(got) != "holder" {
		t.Fatalf("lease holds %q", got)
	}
	// The listing never shows uncommitted blobs.
	pager := srv.Client(name).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 {
		t.Fatalf("listing: %v, %v", page.Segment, err)
	}
}

// TestAzureSkipsDirectoryMarkers: an account with a hierarchical namespace
// (ADLS Gen2) lists its directories as empty blobs marked hdi_isfolder; a
// listing shows only the objects.
func TestAzureSkipsDirectoryMarkers(t *testing.T) {
	srv := azuritetest.Shared(t)
	azureKeyEnv(t, srv)
	name := srv.NewContainer(t, "hns")
	ctx := context.Background()
	dir := srv.Client(name).NewBlockBlobClient("lake/traces/project_id=p")
	if _, err := dir.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)),
		&blockblob.UploadOptions{Metadata: map[string]*string{"hdi_isfolder": to.Ptr("true")}}); err != nil {
		t.Fatal(err)
	}
	b := open(t, "az://"+name+"/lake", bucket.Options{AzureEndpoint: srv.Endpoint()})
	buckettest.Put(t, b, "traces/project_id=p/part-1.parquet", []byte("x"))
	if keys := buckettest.Keys(t, b, ""); strings.Join(keys, ",") != "traces/project_id=p/part-1.parquet" {
		t.Fatalf("keys %q, want the file only", keys)
	}
}

// benchStore opens an empty bucket of store ("az" on Azurite, "s3" on MinIO).
func benchStore(b *testing.B, store string) bucket.Bucket {
	var loc string
	switch store {
	case "az":
		srv := azuritetest.Shared(b)
		b.Setenv("AZURE_STORAGE_CONNECTION_STRING", srv.ConnectionString())
		loc = "az://" + srv.NewContainer(b, "bench")
	case "s3":
		srv := miniotest.Shared(b)
		srv.Env(b)
		loc = "s3://" + srv.NewBucket(b, "bench")
	}
	bk, err := bucket.Open(context.Background(), loc, bucket.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return bk
}

// BenchmarkStoreWrite measures an atomic write of a 64 MiB object in
// 256 KiB writes, as the Parquet writer sends them: staged blocks and a
// block list on Azurite, a multipart upload on MinIO.
//
//	go test -run '^$' -bench StoreWrite ./bucket
func BenchmarkStoreWrite(b *testing.B) {
	chunk := bytes.Repeat([]byte("lakefuse"), (256<<10)/8)
	for _, store := range []string{"az", "s3"} {
		b.Run(store, func(b *testing.B) {
			bk := benchStore(b, store)
			ctx := context.Background()
			b.SetBytes(256 * int64(len(chunk)))
			for i := 0; b.Loop(); i++ {
				w, err := bk.NewWriter(ctx, fmt.Sprintf("t/p=1/part-%d.parquet", i))
				if err != nil {
					b.Fatal(err)
				}
				for range 256 {
					if _, err := w.Write(chunk); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreMove measures what publishing a staged file costs at
// commit: Move of a 1 MiB object (a server-side copy and a delete) on
// Azurite and on MinIO, both on loopback.
//
//	go test -run '^$' -bench StoreMove ./bucket
func BenchmarkStoreMove(b *testing.B) {
	data := bytes.Repeat([]byte("lakefuse"), (1<<20)/8)
	for _, store := range []string{"az", "s3"} {
		b.Run(store, func(b *testing.B) {
			bk := benchStore(b, store)
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				src := fmt.Sprintf("_lakefuse/staging/run/t/p=1/part-%d.parquet", i)
				buckettest.Put(b, bk, src, data)
				b.StartTimer()
				if err := bk.Move(ctx, src, fmt.Sprintf("t/p=1/part-%d.parquet", i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAzureEndpointOverridesConnectionString: --azure-endpoint wins over a
// connection string's BlobEndpoint.
func TestAzureEndpointOverridesConnectionString(t *testing.T) {
	srv := azuritetest.Shared(t)
	name := srv.NewContainer(t, "override")
	conn := strings.Replace(srv.ConnectionString(), srv.Endpoint(), "http://127.0.0.1:1/"+srv.Account(), 1)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "")
	t.Setenv("AZURE_STORAGE_KEY", "")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "")
	if _, err := bucket.Open(context.Background(), "az://"+name, bucket.Options{Retry: fast}); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("Open with the string's dead endpoint: %v", err)
	}
	b := open(t, "az://"+name, bucket.Options{AzureEndpoint: srv.Endpoint(), Retry: fast})
	buckettest.Put(t, b, "k", []byte("v"))
	if got := buckettest.Get(t, b, "k"); string(got) != "v" {
		t.Fatalf("read %q", got)
	}
}

// TestAzureLocation: container names follow Azure's rules and every
// problem is reported before a request is made.
func TestAzureLocation(t *testing.T) {
	for loc, want := range map[string]string{
		"az://":                   "missing container name",
		"az://ab":                 "not 3 to 63",
		"az://a--b":               "two hyphens",
		"az://-abc/x":             "start and end",
		"az://abc-":               "start and end",
		"az://Lake":               "lowercase",
		"az://lake_1":             "lowercase",
		"az://lake:10000/x":       "--azure-endpoint",
		"az://lake/a//b":          "prefix",
		"az://lake?sig=secret123": "no query",
	} {
		_, err := bucket.Open(context.Background(), loc, bucket.Options{})
		if !errors.Is(err, bucket.ErrBadLocation) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want ErrBadLocation saying %q", loc, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret123") {
			t.Errorf("Open(%q) quotes the secret: %v", loc, err)
		}
	}
}
