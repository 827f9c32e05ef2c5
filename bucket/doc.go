// Package bucket is where the lake's bytes live: a local directory, S3 (AWS,
// MinIO or any S3-compatible store), Google Cloud Storage, or memory for
// tests. It offers atomic writes (an object appears only when complete),
// ranged reads as an io.ReaderAt, listing by prefix in key order, stat and
// delete.
//
// It knows bytes, not tables: partition layout, Parquet and manifests belong
// to package hive. Drivers only talk to their store; the layer that Open,
// NewLocal and NewMemory put around them validates keys and retries, once,
// for every store.
//
// # URLs
//
// Open takes the LOCATION argument of the CLI:
//
//	lake, ./lake, /data/lake   a local directory (relative to the working directory)
//	file:///data/lake          the same, as a URL (%-escapes are decoded)
//	s3://bucket/prefix         S3 or an S3-compatible store
//	gs://bucket/prefix         Google Cloud Storage
//	az://container/prefix      Azure Blob Storage (and Azurite)
//	mem://name                 a new, empty in-memory bucket (tests)
//
// A local directory need not exist: it is created, with its parents, on the
// first write. If the path is a file, Open fails with ErrBadLocation.
//
// For s3:// the AWS SDK's standard chain supplies credentials and settings:
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
// AWS_PROFILE and the shared config files, AWS_REGION, AWS_ENDPOINT_URL_S3,
// and instance or container roles. Options.S3Endpoint, Options.S3PathStyle and
// Options.Region override them; for MinIO set the endpoint
// (http://host:9000) and path-style addressing. The region defaults to the
// configured one, else us-east-1.
//
// For gs:// the official client (cloud.google.com/go/storage) talks to
// GCS's JSON API, signed in with Application Default Credentials, as every
// Google Cloud tool: GOOGLE_APPLICATION_CREDENTIALS (a key file), the file
// `gcloud auth application-default login` writes, or the metadata server on
// Compute Engine, GKE and Cloud Run. Options.GCSEndpoint replaces the
// endpoint; STORAGE_EMULATOR_HOST points the client at an emulator and turns
// signing in off (the tests run fake-gcs-server in process, internal/gcstest).
// The client's own retries are off except for a write's chunks, which it
// holds in memory (see below).
//
// With HMAC keys, gs:// takes the S3 driver instead: when
// GCS_HMAC_ACCESS_KEY_ID or GCS_HMAC_SECRET_ACCESS_KEY is set, or
// Options.GCSHMAC or Options.S3Endpoint is, or AWS_ACCESS_KEY_ID holds a GCS
// HMAC access id (GOOG…). It talks to GCS's S3-compatible
// XML API at https://storage.googleapis.com, path-style, region "auto", with
// the HMAC key (Cloud console: Cloud Storage, Settings, Interoperability) from
// those variables, or else from the AWS chain above. Options.S3Endpoint
// replaces the GCS endpoint (the tests point it at MinIO). Accept-Encoding is
// left out of request signatures because Google's front end rewrites it.
//
// For az:// the account and credentials come from the variables the Azure
// CLI uses: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (an account key) or
// AZURE_STORAGE_SAS_TOKEN (a SAS with read, write, delete, list and create
// permissions), or AZURE_STORAGE_CONNECTION_STRING (AccountName and
// AccountKey, or a SharedAccessSignature; its BlobEndpoint is honoured). A
// connection string wins over the other variables, a key over a SAS. The
// blob service is https://ACCOUNT.blob.core.windows.net unless
// Options.AzureEndpoint (or a connection string's BlobEndpoint) names
// another, such as Azurite's http://127.0.0.1:10000/ACCOUNT. Container
// names follow Azure's rules (3 to 63 lowercase letters, digits and single
// '-'). Open checks the container at once (Get Container Properties, or a
// one-blob listing when a SAS may not read properties). Errors name the
// account and container and never hold the key, the SAS or the connection
// string: messages are built from the status and error code, and URLs in
// them lose their query.
//
// Bucket names follow the S3 rules (3 to 63 lowercase letters, digits, '.'
// and '-'; GCS also allows '_'). The prefix, if any, is taken literally: in
// s3:// and gs:// URLs "%" is not an escape but part of the key, as in Hive
// partition values. Credentials, queries and ports do not belong in a
// location: Open rejects them and, when it quotes a location in an error,
// masks them. Open checks an s3:// or gs:// bucket at once (HeadBucket), so a
// wrong name fails with ErrNoBucket and wrong keys with ErrBadCredentials
// before any work is done.
//
// # Keys and escaping
//
// Keys are slash-separated paths relative to the location, such as
// traces/project_id=a%2Fb/dt=2026-03-01/part-0001.parquet. They are stored
// verbatim, never escaped or unescaped here: escaping partition values is the
// caller's business (package hive). A key may hold any UTF-8 text, including
// '=', '%', '+', spaces and non-ASCII letters, except:
//
//   - an empty key, a leading "/", or an empty segment ("a//b", "a/");
//   - "." or ".." segments;
//   - NUL, other ASCII control characters, backslashes and invalid UTF-8;
//   - segments starting with ".lakefuse-tmp-", the local store's
//     in-progress files;
//   - more than 1024 bytes (S3's limit, applied everywhere so a lake can
//     move between stores).
//
// Such keys fail with ErrInvalidKey on every store; ValidateKey checks one
// in advance. Listings skip stored objects whose names are not valid keys
// (for example S3 "folder" markers ending in "/"), so every listed key can be
// opened. A List prefix need not end at a segment boundary:
// "traces/project_id=p1" matches project_id=p1 and project_id=p10.
//
// One difference between stores remains: on a local disk a key cannot be
// both an object and a directory ("a" and "a/b"); writing the second fails.
// The lake's layout never needs both.
//
// # Writes and reads
//
// A Writer's object is invisible until Commit returns nil. Locally the bytes
// go to a temporary file in the target directory, which Commit syncs and
// renames into place; Delete and Abort remove directories they leave empty.
// On S3 the bytes stream into a multipart upload of 8 MiB parts, two in
// flight, so memory stays flat whatever the object's size; Abort, a failed
// Commit or a cancelled context abort the upload so no parts are left
// behind. On Azure the bytes are staged as 8 MiB blocks of a block blob,
// two in flight, and Commit commits the block list (an object smaller than
// a block is one Put Blob); blocks never committed are invisible, and the
// service discards them after a week. On GCS (JSON API) they go to a resumable upload in 8 MiB chunks,
// which GCS turns into an object only when Commit sends the last one; Abort,
// a failed Commit or a cancelled context cancel the upload's context, so no
// object appears. An Object reads with one ranged GET per ReadAt, pinned to
// the version (ETag, or GCS generation) it opened: if the object is replaced
// meanwhile, reads fail rather than mix versions. An Object belongs to the
// context passed to Open.
//
// Create stores a small object only if its key is free (ErrExists
// otherwise): S3, MinIO and Azure get a PUT with If-None-Match: *, GCS an upload
// with ifGenerationMatch=0, the local store a hard link of a finished
// temporary file, which fails when the name is taken. Package hive builds a
// lake's lease on it. Move renames an object: a rename on disk, a
// server-side copy (a rewrite on GCS) and a delete on S3 and GCS (both names
// exist for a moment); on Azure a Copy Blob within the account (its source
// URL carries the SAS, if that is the credential) and a delete.
//
// # Encryption at rest
//
// Options.SSE encrypts every object written to s3:// (SSE-S3 "AES256", or
// SSE-KMS "aws:kms" with Options.SSEKMSKeyID); gs:// keeps the bucket's
// default key and refuses SSE, as do local directories, which are private
// instead: the directories the bucket creates are 0700, its files 0600.
// az:// refuses it too: Azure Storage encrypts every blob at rest with
// the account's key (Microsoft-managed, or a customer-managed key set on the
// account).
//
// # Errors and retries
//
// Callers branch with errors.Is on ErrNotFound, ErrPermission, ErrNoBucket,
// ErrBadCredentials, ErrInvalidKey, ErrBadLocation and ErrExists. Messages name the
// location or object and say what to check; they never contain a secret key.
// On GCS they say how to sign in when no credentials are found and name the
// IAM permission a 403 lacks; the credential file's secrets, access tokens
// and resumable upload URLs are scrubbed from any quoted store message.
//
// Transient failures (HTTP 5xx, 429 and SlowDown, timeouts, refused or reset
// connections, truncated bodies) are retried with exponential backoff and
// jitter, see RetryPolicy: Stat, Open, each ReadAt, List (resuming after the
// last key delivered) and Delete. A write is retried only where nothing has
// been consumed yet (starting it) and, on S3, per part, since a part is still
// in memory; a stream that went to the store cannot be replayed. The kinds
// above are permanent and never retried.
package bucket
