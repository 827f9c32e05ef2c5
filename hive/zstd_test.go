package hive

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

func TestZstdCodecRoundTrip(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*zstdCodec); !ok {
		t.Fatalf("the registered zstd codec is %T, not lakefuse's", c)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	// Sizes around the 1 MiB window, both compressible and random, from
	// several goroutines at once (files encode concurrently).
	for _, n := range []int{0, 1, 100, 64 << 10, 1<<20 - 1, 1 << 20, 1<<20 + 1, 5 << 20} {
		for _, random := range []bool{false, true} {
			src := make([]byte, n)
			for i := range src {
				if random {
					src[i] = byte(r.Uint32())
				} else {
					src[i] = "lakefuse parquet page "[i%22]
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, level := range []int{1, 3, compress.DefaultCompressionLevel} {
					enc := c.EncodeLevel(make([]byte, 0, c.CompressBound(int64(n)+1)), src, level)
					dec, err := compress.Decode(c, nil, enc)
					if err != nil {
						t.Errorf("%d bytes (random %v) at level %d: %v", n, random, level, err)
						return
					}
					if !bytes.Equal(dec, src) {
						t.Errorf("%d bytes (random %v) at level %d: round trip differs", n, random, level)
					}
				}
			}()
		}
	}
	wg.Wait()
	if got := len(c.(*zstdCodec).free[1]); got == 0 || got > maxIdleEncoders {
		t.Errorf("%d idle encoders kept, want 1..%d", got, maxIdleEncoders)
	}
}

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
