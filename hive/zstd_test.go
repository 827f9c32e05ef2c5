package hive

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
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
