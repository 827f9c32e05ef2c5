package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/lakefuse/lakefuse/bucket"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version that `go install` recorded is used.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// CLI is the command line. Each command is a struct with a Run method; the
// shared values are bound as *Globals.
type CLI struct {
	LogLevel  string `help:"Log level: debug, info, warn, error." enum:"debug,info,warn,error" default:"info" env:"LAKEFUSE_LOG_LEVEL"`
	LogFormat string `help:"Log format: text or json." enum:"text,json" default:"text" env:"LAKEFUSE_LOG_FORMAT"`
	Quiet     bool   `short:"q" help:"Show no progress: neither the live display on a terminal nor the periodic progress log lines."`
	// ProgressEvery is for logs that are not on a terminal.
	ProgressEvery time.Duration `name:"progress-every" help:"How often progress is logged when stderr is not a terminal (or logs are JSON)." default:"30s"`
	// CPUProfile is for finding where a command spends its time on real data.
	CPUProfile string `name:"cpu-profile" hidden:"" help:"Write a Go CPU profile of the command to this file." type:"path"`

	Version VersionCmd `cmd:"" help:"Print the version."`
	Schema  SchemaCmd  `cmd:"" help:"Show the lake's tables and columns."`
	Ls      LsCmd      `cmd:"" help:"Summarise a lake: tables, partitions, files, rows, bytes and runs."`
	Export  ExportCmd  `cmd:"" help:"Export a Langfuse project into a lake."`
	Import  ImportCmd  `cmd:"" help:"Import a lake into a Langfuse project."`
	Migrate MigrateCmd `cmd:"" help:"Export from one Langfuse project and import into another."`
	Convert ConvertCmd `cmd:"" help:"Convert other tools' exports into a lake."`
	Verify  VerifyCmd  `cmd:"" help:"Check a lake against its manifests, or against a live project."`
	Compact CompactCmd `cmd:"" help:"Merge a lake's small files into files near a target size."`
	Demo    DemoCmd    `cmd:"" help:"Run the whole job offline against a built-in Langfuse-compatible server."`
	Report  ReportCmd  `cmd:"" help:"Write a lake's report: one self-contained HTML file with charts."`
	Bench   BenchCmd   `cmd:"" help:"Measure lakefuse on generated data and print a table."`
	Sample  SampleCmd  `cmd:"" name:"internal-sample" hidden:"" help:"Write a lake of generated rows (for tests)."`
}

// Globals are handed to every command's Run.
type Globals struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	// Interactive is true when stdout is a terminal (confirmations).
	Interactive bool
	// LiveProgress: stderr is a terminal and logs are text, so progress is
	// a live display that log lines print above.
	LiveProgress bool
	// Quiet: no progress at all (--quiet).
	Quiet bool
	// ProgressEvery is the interval of progress log lines without a live
	// display.
	ProgressEvery time.Duration
	// logOut is where Log writes: stderr, or the live display while one runs.
	logOut *switchWriter
}

// BucketFlags are the flags of every command that takes a LOCATION.
type BucketFlags struct {
	S3Endpoint  string `name:"s3-endpoint" help:"S3 endpoint URL (MinIO and other S3-compatible stores); also for gs://." env:"LAKEFUSE_S3_ENDPOINT"`
	S3PathStyle bool   `name:"s3-path-style" help:"Address S3 buckets path-style (endpoint/bucket), as MinIO needs." env:"LAKEFUSE_S3_PATH_STYLE"`
	S3Region    string `name:"s3-region" help:"S3 region (default: from the AWS environment, else us-east-1)."`
	SSE         string `name:"sse" help:"Encrypt objects written to s3:// at rest: AES256 (SSE-S3) or aws:kms (SSE-KMS). Default: the bucket's default encryption." env:"LAKEFUSE_SSE" placeholder:"MODE"`
	SSEKMSKeyID string `name:"sse-kms-key-id" help:"KMS key id or ARN for --sse aws:kms (default: the store's default KMS key)." env:"LAKEFUSE_SSE_KMS_KEY_ID" placeholder:"ID"`
	GCSHMAC     bool   `name:"gcs-hmac" help:"Reach gs:// through GCS's S3-compatible XML API with an HMAC key (GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY, which also select it) instead of Application Default Credentials." env:"LAKEFUSE_GCS_HMAC"`
	GCSEndpoint string `name:"gcs-endpoint" help:"GCS JSON API endpoint for gs:// (default https://storage.googleapis.com; for an emulator set STORAGE_EMULATOR_HOST)." env:"LAKEFUSE_GCS_ENDPOINT" placeholder:"URL"`
	// Credentials for az:// come from AZURE_STORAGE_ACCOUNT with
	// AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, or from
	// AZURE_STORAGE_CONNECTION_STRING (bucket package documentation).
	AzureEndpoint string `name:"azure-endpoint" help:"Blob service URL for az:// locations (default: https://ACCOUNT.blob.core.windows.net; Azurite: http://127.0.0.1:10000/ACCOUNT)." env:"LAKEFUSE_AZURE_ENDPOINT" placeholder:"URL"`
}

// Open opens location with these flags.
func (f BucketFlags) Open(g *Globals, location string) (bucket.Bucket, error) {
	return bucket.Open(g.Ctx, location, bucket.Options{
		S3Endpoint: f.S3Endpoint, S3PathStyle: f.S3PathStyle, Region: f.S3Region, Logger: g.Log,
		SSE: f.SSE, SSEKMSKeyID: f.SSEKMSKeyID, AzureEndpoint: f.AzureEndpoint,
		GCSHMAC: f.GCSHMAC, GCSEndpoint: f.GCSEndpoint,
	})
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Do runs the command line args and returns the exit code: 0 success, 1 a
// failure (something was not done), 2 a usage error.
func Do(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var cli CLI
	exited := false
	parser, err := kong.New(&cli,
		kong.Name("lakefuse"),
		kong.Description("Move LLM-observability data between Langfuse, LangSmith exports and a Parquet lake."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited = true; code = c; panic(exitSentinel{}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": toolVersion()},
	)
	if err != nil {
		fmt.Fprintln(stderr, "lakefuse:", err)
		return 2
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSentinel); ok && exited {
				return
			}
			panic(r)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "lakefuse: error:", err)
		return 2
	}
	setMemoryLimit()
	if cli.CPUProfile != "" {
		f, err := os.Create(cli.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "lakefuse: error: --cpu-profile:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logOut := &switchWriter{fallback: stderr}
	g := &Globals{
		Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Log:          newLogger(logOut, cli.LogLevel, cli.LogFormat),
		Interactive:  isTerminal(stdout),
		LiveProgress: isTerminal(stderr) && cli.LogFormat == "text",
		Quiet:        cli.Quiet, ProgressEvery: cli.ProgressEvery,
		logOut: logOut,
	}
	if err := kctx.Run(g); err != nil {
		fmt.Fprintln(stderr, "lakefuse: error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

type exitSentinel struct{}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
// lakefuse streams, so its live heap stays well below this; the limit makes
// the garbage collector return memory before the heap doubles, which keeps
// the resident set flat on small machines and in containers.
const defaultMemoryLimit = 192 << 20

func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	_, err := fmt.Fprintf(g.Stdout, "lakefuse %s (lake schema version %d)\n", toolVersion(), schemaVersion())
	return err
}
