package hive

import (
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdCodec replaces arrow-go's zstd codec for compressing pages (decoding
// and streaming stay arrow-go's).
//
// arrow-go keeps its page encoders in a sync.Pool, which the garbage
// collector empties every other cycle, and creates them with zstd's
// default 8 MiB window, so every few collections a writer allocates and
// zeroes a new 8 MiB history per encoder: on a million converted runs,
// under lakefuse's soft memory limit, that was hundreds of megabytes of
// allocation and a steady share of the collector's work. Pages are at most
// about 1 MiB (parquet's data page size), so a 1 MiB window compresses them
// exactly as well, and a small free list keeps the encoders across
// collections. The output is the same zstd format at the same level.
type zstdCodec struct {
	compress.Codec // arrow-go's zstd codec, for everything but EncodeLevel

	mu   sync.Mutex
	free map[zstd.EncoderLevel][]*zstd.Encoder
}

// maxIdleEncoders bounds the encoders kept per level: a run encodes at most
// four files at once, and each kept encoder (about 1.2 MB with the 1 MiB
// window) is live heap, which a memory limit makes costly.
const maxIdleEncoders = 4

func init() {
	arrow, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err)
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{Codec: arrow, free: map[zstd.EncoderLevel][]*zstd.Encoder{}})
}

func (z *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	enc := z.get(l)
	out := enc.EncodeAll(src, dst[:0])
	z.put(l, enc)
	return out
}

func (z *zstdCodec) get(l zstd.EncoderLevel) *zstd.Encoder {
	z.mu.Lock()
	if f := z.free[l]; len(f) > 0 {
		enc := f[len(f)-1]
		z.free[l] = f[:len(f)-1]
		z.mu.Unlock()
		return enc
	}
	z.mu.Unlock()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20), zstd.WithZeroFrames(true), zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		panic(err) // only for invalid options, which these are not
	}
	return enc
}

func (z *zstdCodec) put(l zstd.EncoderLevel, enc *zstd.Encoder) {
	z.mu.Lock()
	if len(z.free[l]) < maxIdleEncoders {
		z.free[l] = append(z.free[l], enc)
	}
	z.mu.Unlock()
}

// The page reader type-asserts these; they stay arrow-go's.

func (z *zstdCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	return compress.Decode(z.Codec, dst, src)
}

func (z *zstdCodec) NewReader(r io.Reader) io.ReadCloser {
	return z.Codec.(compress.StreamingCodec).NewReader(r)
}

func (z *zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	return z.Codec.(compress.StreamingCodec).NewWriter(w)
}

func (z *zstdCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.Codec.(compress.StreamingCodec).NewWriterLevel(w, level)
}

var (
	_ compress.ErrorCodec     = (*zstdCodec)(nil)
	_ compress.StreamingCodec = (*zstdCodec)(nil)
)
