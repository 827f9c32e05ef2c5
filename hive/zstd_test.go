package hive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// The registered codec must compress to the bytes arrow-go's own would and
// read them back.
func TestZstdCodecMatchesArrow(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*zstdCodec); !ok {
		t.Fatalf("zstd codec is %T, want *zstdCodec", c)
	}
	src := []byte(strings.Repeat(`{"role":"user","content":"日本語のテキスト and some words"}`, 2000))
	for _, level := range []int{1, 3, compress.DefaultCompressionLevel} {
		l := zstd.EncoderLevelFromZstd(level)
		if level == compress.DefaultCompressionLevel {
			l = zstd.SpeedDefault
		}
		ref, _ := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l),
			zstd.WithEncoderConcurrency(1), zstd.WithAllLitEntropyCompression(true))
		want := ref.EncodeAll(src, nil)
		for i := 0; i < 3; i++ { // fresh, then kept encoders
			got := c.EncodeLevel(nil, src, level)
			if !bytes.Equal(got, want) {
				t.Fatalf("level %d, round %d: compressed bytes differ from arrow-go's encoder", level, i)
			}
			back, err := compress.Decode(c, make([]byte, len(src)), got)
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("level %d: round trip: %v", level, err)
			}
		}
	}
}
