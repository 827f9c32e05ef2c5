package bucket

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/lakefuse/lakefuse/internal/ctxtime"
)

const (
	// azureBlockSize is the size of a staged block; with partConcurrency
	// blocks in flight a writer holds about (partConcurrency+1) blocks.
	azureBlockSize = 8 << 20
	// azureCopyPoll bounds the wait between looks at a pending copy.
	azureCopyPoll = 2 * time.Second
)

// Azure credential and endpoint variables, as the Azure CLI and SDKs name
// them.
const (
	envAzureAccount = "AZURE_STORAGE_ACCOUNT"
	envAzureKey     = "AZURE_STORAGE_KEY"
	envAzureConn    = "AZURE_STORAGE_CONNECTION_STRING"
	envAzureSAS     = "AZURE_STORAGE_SAS_TOKEN"
)

// azureBucket talks to Azure Blob Storage (and Azurite) through the Azure
// SDK's blob client. Objects are block blobs: a write stages blocks and
// commits the block list in Commit, so nothing is visible before.
type azureBucket struct {
	client   *container.Client
	loc      location
	account  string
	credHint string   // where credentials come from, for messages
	secrets  []string // never to appear in a message
	retry    RetryPolicy
	pageSize int32 // listing page size; 0 is the service's (5000)
}

var _ Bucket = (*azureBucket)(nil)

func newAzure(l location, opts Options) (*azureBucket, error) {
	b := &azureBucket{loc: l, retry: opts.Retry}
	endpoint := strings.TrimRight(opts.AzureEndpoint, "/")
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("%w: Azure endpoint %q: want http(s)://host[:port][/account] without a query (put a SAS in %s)",
				ErrBadLocation, redact(endpoint), envAzureSAS)
		}
	}
	copts := &container.ClientOptions{}
	// The portable layer retries; retrying here too would multiply attempts.
	copts.Retry = policy.RetryOptions{MaxRetries: -1}
	copts.Telemetry = policy.TelemetryOptions{Disabled: true}
	if opts.HTTPClient != nil {
		copts.Transport = opts.HTTPClient
	}

	conn := os.Getenv(envAzureConn)
	account, key, sas := os.Getenv(envAzureAccount), os.Getenv(envAzureKey), strings.TrimPrefix(os.Getenv(envAzureSAS), "?")
	var err error
	switch {
	case conn != "":
		b.credHint = "check " + envAzureConn + " (AccountName, AccountKey or SharedAccessSignature, BlobEndpoint)"
		fields := connectionFields(conn)
		b.account = fields["accountname"]
		b.secrets = append(b.secrets, conn, fields["accountkey"], fields["sharedaccesssignature"])
		if endpoint != "" {
			// The endpoint option wins over the string's BlobEndpoint.
			conn = overrideBlobEndpoint(conn, endpoint)
		}
		b.client, err = container.NewClientFromConnectionString(conn, l.bucket, copts)
		if err != nil {
			return nil, &kindError{kind: ErrBadCredentials,
				msg: fmt.Sprintf("%s: %s is not a valid connection string: %s", l, envAzureConn, b.sanitize(err.Error()))}
		}
	case account == "":
		return nil, &kindError{kind: ErrBadCredentials, msg: fmt.Sprintf(
			"%s: no Azure credentials: set %s and %s (or %s), or %s", l, envAzureAccount, envAzureKey, envAzureSAS, envAzureConn)}
	case endpoint == "" && !validAccountName(account):
		return nil, &kindError{kind: ErrBadCredentials, msg: fmt.Sprintf(
			"%s: %s=%q is not a storage account name (3 to 24 lowercase letters and digits)", l, envAzureAccount, account)}
	case key != "":
		b.account = account
		b.credHint = "check " + envAzureAccount + " and " + envAzureKey + " (an access key of the storage account)"
		b.secrets = append(b.secrets, key)
		cred, cerr := container.NewSharedKeyCredential(account, key)
		if cerr != nil {
			return nil, &kindError{kind: ErrBadCredentials,
				msg: fmt.Sprintf("%s: %s is not an account key (want the base64 key from the portal's Access keys)", l, envAzureKey)}
		}
		b.client, err = container.NewClientWithSharedKeyCredential(azureContainerURL(endpoint, account, l.bucket), cred, copts)
	case sas != "":
		b.account = account
		b.credHint = "check " + envAzureSAS + " (its permissions rwdlc, services b, resource types sco or container scope, and expiry) and " + envAzureAccount
		b.secrets = append(b.secrets, sas)
		if v, perr := url.ParseQuery(sas); perr == nil && v.Get("sig") != "" {
			b.secrets = append(b.secrets, v.Get("sig"), url.QueryEscape(v.Get("sig")))
		}
		b.client, err = container.NewClientWithNoCredential(azureContainerURL(endpoint, account, l.bucket)+"?"+sas, copts)
	default:
		return nil, &kindError{kind: ErrBadCredentials, msg: fmt.Sprintf(
			"%s: %s is set but neither %s nor %s: set one of them", l, envAzureAccount, envAzureKey, envAzureSAS)}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s", l, b.sanitize(err.Error()))
	}
	return b, nil
}

func validAccountName(name string) bool {
	if len(name) < 3 || len(name) > 24 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func azureContainerURL(endpoint, account, containerName string) string {
	if endpoint == "" {
		endpoint = "https://" + account + ".blob.core.windows.net"
	}
	return endpoint + "/" + containerName
}

// connectionFields parses an Azure connection string, keys lowercased.
func connectionFields(conn string) map[string]string {
	m := map[string]string{}
	for part := range strings.SplitSeq(conn, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return m
}

func overrideBlobEndpoint(conn, endpoint string) string {
	var parts []string
	for part := range strings.SplitSeq(conn, ";") {
		k, _, _ := strings.Cut(part, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "BlobEndpoint") && part != "" {
			parts = append(parts, part)
		}
	}
	return strings.Join(append(parts, "BlobEndpoint="+endpoint), ";")
}

// sanitize removes what must never be printed from a message: URL queries
// (a SAS rides in them) and the configured secrets themselves.
func (b *azureBucket) sanitize(msg string) string { return scrubSecrets(msg, b.secrets) }

func (b *azureBucket) String() string { return b.loc.String() }
func (b *azureBucket) Close() error   { return nil }

// blobName is key below the location's prefix; for "" it is the prefix
// itself with its trailing "/".
func (b *azureBucket) blobName(key string) string { return b.loc.key(key) }

func (b *azureBucket) name(key string) string { return b.loc.name(key) }

func (b *azureBucket) blockBlob(key string) *blockblob.Client {
	return b.client.NewBlockBlobClient(b.blobName(key))
}

// where names the container and account for messages.
func (b *azureBucket) where() string {
	if b.account == "" {
		return fmt.Sprintf("container %q", b.loc.bucket)
	}
	return fmt.Sprintf("container %q of storage account %q", b.loc.bucket, b.account)
}

// check makes sure the container exists and the credentials work.
func (b *azureBucket) check(ctx context.Context) error {
	_, err := b.client.GetProperties(ctx, nil)
	if err != nil && azureStatus(err) == http.StatusForbidden {
		// A SAS scoped to the container may not read its properties but
		// may list it, which is what lakefuse needs.
		pager := b.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr(b.blobName("")), MaxResults: to.Ptr(int32(1))})
		_, err = pager.NextPage(ctx)
	}
	if err != nil {
		return b.fail("check", "", err)
	}
	return nil
}

func azureStatus(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// azureError keeps the SDK's error for errors.As while printing only the
// sanitized message.
type azureError struct {
	msg string
	err error
}

func (e *azureError) Error() string { return e.msg }
func (e *azureError) Unwrap() error { return e.err }

// fail turns an SDK error into one that names the object and account and,
// where callers branch on it, carries an error kind. Messages are built from
// the status and error code, never from the SDK's text, and sanitized.
func (b *azureBucket) fail(op, key string, err error) error {
	name := b.name(key)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &azureError{msg: b.sanitize(fmt.Sprintf("%s %s: %v", op, name, ctxErrOf(err))), err: err}
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		// No answer: the connection failed (refused, reset, cut short).
		return transientError{&azureError{err: err,
			msg: b.sanitize(fmt.Sprintf("%s %s: cannot reach Azure Blob Storage for %s: %v", op, name, b.where(), err))}}
	}
	code, status := re.ErrorCode, re.StatusCode
	what := fmt.Sprintf("%d %s", status, code)
	switch {
	case code == "ContainerNotFound":
		return &kindError{kind: ErrNoBucket, err: err,
			msg: fmt.Sprintf("azure %s does not exist: create it (az storage container create --name %s) or check the name and %s",
				b.where(), b.loc.bucket, envAzureAccount)}
	case code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo" || code == "AccountIsDisabled" ||
		code == "InvalidHeaderValue" && status == http.StatusForbidden:
		return &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("azure %s: credentials rejected (%s): %s", b.where(), code, b.credHint)}
	case code == "AuthorizationFailure":
		// Azure's answer to a request from outside the account's network
		// rules, and Azurite's to a wrong key or signature.
		return &kindError{kind: ErrBadCredentials, err: err,
			msg: fmt.Sprintf("azure %s: request not authorized (%s): %s; or the account's firewall does not admit this network",
				b.where(), code, b.credHint)}
	case status == http.StatusForbidden:
		return &kindError{kind: ErrPermission, err: err,
			msg: fmt.Sprintf("%s %s: permission denied (%s): the credentials may not %s in %s (a SAS needs read, write, delete, list and create permissions)",
				op, name, orStatus(code, status), op, b.where())}
	case status == http.StatusNotFound:
		return &kindError{kind: ErrNotFound, err: err, msg: name + ": not found"}
	case status == http.StatusPreconditionFailed && op == "read":
		return &azureError{err: err, msg: fmt.Sprintf("%s %s: the object changed while it was being read (%s)", op, name, what)}
	case code == "LeaseIdMissing" || code == "LeaseIdMismatchWithBlobOperation":
		return &azureError{err: err, msg: fmt.Sprintf("%s %s: the blob has an Azure lease that lakefuse does not hold (%s): break it, or leave the lake's blobs unleased", op, name, what)}
	}
	e := &azureError{err: err, msg: fmt.Sprintf("%s %s: azure answered %s", op, name, what)}
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return transientError{e}
	}
	return e
}

func ctxErrOf(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

// retryInMemory retries f, whose request body is in memory and can be
// resent, on transient errors with the bucket's policy: blocks of a write,
// the small Put Blob and the block list.
func (b *azureBucket) retryInMemory(ctx context.Context, f func() error) error {
	for n := 1; ; n++ {
		err := f()
		if err == nil || !isTransient(err) || ctx.Err() != nil || n >= b.retry.attempts() {
			return err
		}
		if ctxtime.Sleep(ctx, b.retry.delay(n)) != nil {
			return err
		}
	}
}

func (b *azureBucket) NewWriter(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	return &azureWriter{b: b, ctx: ctx, key: key, blob: b.blockBlob(key), nonce: hex.EncodeToString(nonce),
		sem: make(chan struct{}, partConcurrency)}, nil
}

// azureWriter stages full blocks while the caller writes, up to
// partConcurrency at a time, and commits the block list in Commit. An object
// smaller than a block is one Put Blob. Blocks that are never committed
// (Abort, a failed Commit, a killed process) are invisible and the service
// discards them after a week.
type azureWriter struct {
	b     *azureBucket
	ctx   context.Context
	key   string
	blob  *blockblob.Client
	nonce string // distinguishes this writer's block ids from another's
	buf   []byte
	ids   []string
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error // the first failed stage
	ended bool
}

func (w *azureWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *azureWriter) Write(p []byte) (int, error) {
	if err := writable(w.ended, w.ctx, w.b.name(w.key)); err != nil {
		return 0, err
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		take := min(len(p), azureBlockSize-len(w.buf))
		if need := len(w.buf) + take; need > cap(w.buf) {
			// Grow by doubling up to a block: small objects stay small,
			// and a block is copied a few times at most.
			grown := make([]byte, len(w.buf), min(max(need, 2*cap(w.buf), 64<<10), azureBlockSize))
			copy(grown, w.buf)
			w.buf = grown
		}
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == azureBlockSize {
			w.stage()
		}
	}
	return n, nil
}

// stage sends the buffer as the next block, in the background.
func (w *azureWriter) stage() {
	block := w.buf
	w.buf = nil
	// Block ids are base64 of equal-length strings, as the service wants.
	id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%06d", w.nonce, len(w.ids)))
	w.ids = append(w.ids, id)
	w.sem <- struct{}{}
	w.wg.Go(func() {
		defer func() { <-w.sem }()
		if w.failed() != nil {
			return
		}
		err := w.b.retryInMemory(w.ctx, func() error {
			_, err := w.blob.StageBlock(w.ctx, id, streaming.NopCloser(bytes.NewReader(block)), nil)
			if err != nil {
				return w.b.fail("write", w.key, err)
			}
			return nil
		})
		if err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	})
}

func (w *azureWriter) Commit() error {
	if w.ended {
		return errWriterDone
	}
	w.ended = true
	if len(w.ids) > 0 && len(w.buf) > 0 {
		w.stage()
	}
	w.wg.Wait()
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("write %s: %w", w.b.name(w.key), err)
	}
	if err := w.failed(); err != nil {
		return err
	}
	return w.b.retryInMemory(w.ctx, func() error {
		var err error
		if len(w.ids) == 0 {
			// One request for a small object: Put Blob is atomic.
			_, err = w.blob.Upload(w.ctx, streaming.NopCloser(bytes.NewReader(w.buf)), nil)
		} else {
			// Committing the same list again is harmless, so a retry
			// after a lost answer is safe.
			_, err = w.blob.CommitBlockList(w.ctx, w.ids, nil)
		}
		if err != nil {
			return w.b.fail("write", w.key, err)
		}
		return nil
	})
}

func (w *azureWriter) Abort() error {
	if w.ended {
		return nil
	}
	w.ended = true
	w.wg.Wait()
	w.buf = nil
	return nil
}

func (b *azureBucket) Open(ctx context.Context, key string) (Object, error) {
	bc := b.client.NewBlobClient(b.blobName(key))
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil, b.fail("open", key, err)
	}
	o := &azureObject{b: b, ctx: ctx, key: key, blob: bc, size: tocopy(props.ContentLength)}
	if props.ETag != nil {
		o.etag = *props.ETag
	}
	return o, nil
}

func tocopy(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// azureObject reads with one ranged GET per ReadAt, pinned to the ETag seen
// at Open so that reads never mix two versions of an overwritten blob.
type azureObject struct {
	b    *azureBucket
	ctx  context.Context
	key  string
	blob *blob.Client
	size int64
	etag azcore.ETag
}

func (o *azureObject) Size() int64  { return o.size }
func (o *azureObject) Close() error { return nil }

func (o *azureObject) ReadAt(p []byte, off int64) (int, error) {
	name := o.b.name(o.key)
	return readRange(p, off, o.size, name, func(off, end int64) (io.ReadCloser, error) {
		opts := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: end - off}}
		if o.etag != "" {
			opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &o.etag}}
		}
		resp, err := o.blob.DownloadStream(o.ctx, opts)
		if err != nil {
			return nil, o.b.fail("read", o.key, err)
		}
		return resp.Body, nil
	}, func(at int64, err error) error {
		return o.b.sanitizeErr(fmt.Errorf("read %s at %d: %w", name, at, err))
	})
}

// sanitizeErr keeps err for errors.Is while printing its sanitized text.
func (b *azureBucket) sanitizeErr(err error) error {
	return &azureError{msg: b.sanitize(err.Error()), err: err}
}

func (b *azureBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	props, err := b.client.NewBlobClient(b.blobName(key)).GetProperties(ctx, nil)
	if err != nil {
		return Attrs{}, b.fail("stat", key, err)
	}
	a := Attrs{Key: key, Size: tocopy(props.ContentLength)}
	if props.LastModified != nil {
		a.ModTime = *props.LastModified
	}
	return a, nil
}

func (b *azureBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	root := b.blobName("") // "" or "prefix/"
	// Metadata, to skip the directory markers that accounts with a
	// hierarchical namespace (ADLS Gen2) list as empty blobs.
	opts := &container.ListBlobsFlatOptions{Prefix: to.Ptr(root + prefix), Include: container.ListBlobsInclude{Metadata: true}}
	if b.pageSize > 0 {
		opts.MaxResults = to.Ptr(b.pageSize)
	}
	pager := b.client.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return b.fail("list", prefix+"*", err)
		}
		if page.Segment == nil {
			continue
		}
		for _, item := range page.Segment.BlobItems {
			if item == nil || item.Name == nil || isDirectoryMarker(item.Metadata) {
				continue
			}
			key, ok := strings.CutPrefix(*item.Name, root)
			if !ok {
				continue
			}
			a := Attrs{Key: key}
			if item.Properties != nil {
				a.Size = tocopy(item.Properties.ContentLength)
				if item.Properties.LastModified != nil {
					a.ModTime = *item.Properties.LastModified
				}
			}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func isDirectoryMarker(md map[string]*string) bool {
	for k, v := range md {
		if strings.EqualFold(k, "hdi_isfolder") && v != nil && strings.EqualFold(*v, "true") {
			return true
		}
	}
	return false
}

func (b *azureBucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.NewBlobClient(b.blobName(key)).Delete(ctx,
		&blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil {
		return ignoreNotFound(b.fail("delete", key, err))
	}
	return nil
}

// Create is a Put Blob with If-None-Match: *, which Azure answers with 409
// BlobAlreadyExists (Azurite: 409 or 412) when the blob exists.
func (b *azureBucket) Create(ctx context.Context, key string, data []byte) error {
	_, err := b.blockBlob(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.ErrorCode == "BlobAlreadyExists" || re.StatusCode == http.StatusPreconditionFailed) {
		return &kindError{kind: ErrExists, err: err, msg: b.name(key) + ": already exists"}
	}
	return b.fail("create", key, err)
}

// Move copies src to dst inside the account (Copy Blob, which the service
// completes at once for a blob of the same account; a pending copy is
// waited for), then deletes src.
func (b *azureBucket) Move(ctx context.Context, src, dst string) error {
	// The source URL carries the SAS when there is one; with a shared key
	// the service authorizes a source of the same account itself.
	srcURL := b.client.NewBlobClient(b.blobName(src)).URL()
	d := b.client.NewBlobClient(b.blobName(dst))
	resp, err := d.StartCopyFromURL(ctx, srcURL, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.ErrorCode == "CannotVerifyCopySource" && re.StatusCode == http.StatusNotFound {
			return &kindError{kind: ErrNotFound, err: err, msg: b.name(src) + ": not found"}
		}
		return b.fail("move", src, err)
	}
	status := blob.CopyStatusType("")
	if resp.CopyStatus != nil {
		status = *resp.CopyStatus
	}
	for wait := 50 * time.Millisecond; status == blob.CopyStatusTypePending; wait = min(2*wait, azureCopyPoll) {
		if err := ctxtime.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("move %s: %w", b.name(src), err)
		}
		props, err := d.GetProperties(ctx, nil)
		if err != nil {
			return b.fail("move", dst, err)
		}
		if props.CopyStatus == nil {
			break
		}
		status = *props.CopyStatus
	}
	if status != "" && status != blob.CopyStatusTypeSuccess {
		return fmt.Errorf("move %s to %s: the copy ended %s", b.name(src), dst, status)
	}
	return b.Delete(ctx, src)
}
