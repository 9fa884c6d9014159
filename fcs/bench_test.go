package fcs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchFile writes the synthetic benchmark file (1,000,000 events x 20 float32 channels with a
// 20 x 20 $SPILLOVER) once per benchmark into a temporary folder.
func benchFile(b *testing.B, bigEndian bool) (string, int64) {
	b.Helper()
	f, err := SyntheticFile(20, 1)
	if err != nil {
		b.Fatal(err)
	}
	f.BigEndian = bigEndian
	var buf bytes.Buffer
	if err := Write(&buf, f, newSynthSource(f, 1_000_000, 1)); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "synthetic.fcs")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, int64(buf.Len())
}

// BenchmarkRead reads the synthetic 1,000,000 x 20 float32 file (80 MB of DATA) from the page
// cache with 1 and 2 decoding goroutines, little- and big-endian.
func BenchmarkRead(b *testing.B) {
	for _, be := range []bool{false, true} {
		for _, workers := range []int{1, 2} {
			order := "LE"
			if be {
				order = "BE"
			}
			b.Run(fmt.Sprintf("%s/workers=%d", order, workers), func(b *testing.B) {
				path, size := benchFile(b, be)
				b.SetBytes(size)
				b.ResetTimer()
				for b.Loop() {
					if _, err := ReadFile(path, Options{Workers: workers}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkScale converts one float32 channel of 1,000,000 events to scale values (a plain
// float32-to-float64 loop) and the time channel (times $TIMESTEP).
func BenchmarkScale(b *testing.B) {
	path, _ := benchFile(b, false)
	d, err := ReadFile(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, ch := range []string{"PE-A", "Time"} {
		b.Run(ch, func(b *testing.B) {
			i, ok := d.Channel(ch)
			if !ok {
				b.Fatalf("no channel %s", ch)
			}
			dst := make([]float64, d.Events)
			b.SetBytes(int64(4 * d.Events))
			for b.Loop() {
				dst = d.Scale(i, dst)
			}
		})
	}
}

// TestReadMemory checks that Read allocates little more than the event data itself: the
// columns (float32 here) plus a 1 MB chunk buffer per worker, never the DATA segment whole.
func TestReadMemory(t *testing.T) {
	const events, channels = 100_000, 20
	path := filepath.Join(t.TempDir(), "synthetic.fcs")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthetic(f, events, channels, 3); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d, err := ReadFile(path, Options{Workers: workers})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		data := uint64(events * channels * 4)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > data+uint64(workers)<<20+1<<20 {
			t.Errorf("%d workers: Read allocated %d bytes for %d bytes of events", workers, grew, data)
		}
		if d.Events != events {
			t.Errorf("%d events, want %d", d.Events, events)
		}
	}
}
