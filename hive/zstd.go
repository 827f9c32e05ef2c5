package hive

import (
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// arrow-go compresses each Parquet page with a zstd encoder from a
// sync.Pool, which every garbage collection empties. A lake write allocates
// fast (pages of megabytes), so collections come every few pages and nearly
// every page built a new encoder: its tables and history, megabytes,
// allocated and cleared, a large share of all the writer allocated. The
// codec registered here keeps a few encoders per level for good. It makes
// the same encoders with the same options (so the same bytes) and leaves
// decoding and streams to arrow-go's codec.
func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic("hive: arrow-go has no zstd codec: " + err.Error())
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{orig: orig, free: map[zstd.EncoderLevel][]*zstd.Encoder{}})
}

// maxIdleEncoders bounds the encoders kept per level, each 4 MB of live
// heap (which a memory limit makes costly): enough for the files that
// usually compress at once (observations and traces); more are made and
// dropped when needed.
const maxIdleEncoders = 2

type zstdCodec struct {
	orig compress.Codec

	mu   sync.Mutex
	free map[zstd.EncoderLevel][]*zstd.Encoder
}

var (
	_ compress.ErrorCodec     = (*zstdCodec)(nil)
	_ compress.StreamingCodec = (*zstdCodec)(nil)
)

func (z *zstdCodec) Encode(dst, src []byte) []byte { return z.orig.Encode(dst, src) }

// EncodeLevel compresses src as arrow-go's codec does, with a kept encoder.
func (z *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		l = zstd.SpeedDefault
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
	// The options of arrow-go's pooled encoders (parquet/compress/zstd.go).
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l),
		zstd.WithEncoderConcurrency(1), zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		panic("hive: zstd encoder: " + err.Error()) // only for invalid options
	}
	return enc
}

func (z *zstdCodec) put(l zstd.EncoderLevel, enc *zstd.Encoder) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.free[l]) < maxIdleEncoders {
		z.free[l] = append(z.free[l], enc)
	}
}

func (z *zstdCodec) CompressBound(n int64) int64   { return z.orig.CompressBound(n) }
func (z *zstdCodec) Decode(dst, src []byte) []byte { return z.orig.Decode(dst, src) }

func (z *zstdCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	return compress.Decode(z.orig, dst, src)
}

func (z *zstdCodec) NewReader(r io.Reader) io.ReadCloser {
	return z.orig.(compress.StreamingCodec).NewReader(r)
}

func (z *zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	return z.orig.(compress.StreamingCodec).NewWriter(w)
}

func (z *zstdCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.orig.(compress.StreamingCodec).NewWriterLevel(w, level)
}
