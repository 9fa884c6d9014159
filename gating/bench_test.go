package gating_test

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// The benchmarks use the reference workload of flow.md section 6: fcs.WriteSynthetic's file of
// 1,000,000 events x 20 float32 channels with a 20 x 20 $SPILLOVER, written to b.TempDir().

// benchFile writes the synthetic file and returns its path.
func benchFile(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "synthetic.fcs")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := fcs.WriteSynthetic(f, 1_000_000, 20, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchData(b *testing.B) *fcs.DataSet {
	b.Helper()
	ds, err := fcs.ReadFile(benchFile(b), fcs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if ds.Len() != 1_000_000 || len(ds.Names()) != 20 {
		b.Fatalf("synthetic file: %d events x %d channels", ds.Len(), len(ds.Names()))
	}
	return ds
}

const logicleXML = `<transforms:transformation transforms:id="L">
  <transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5" transforms:A="0"/>
</transforms:transformation>`

func parseString(b *testing.B, body string) *gating.Document {
	b.Helper()
	doc, err := gating.Parse(strings.NewReader(`<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
 xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
 xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">` + body + `</gating:Gating-ML>`))
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkCompensation computes the FCS-compensated values of all 20 channels (scale values
// from the float32 columns, then o x S^-1), as Values returns them.
func BenchmarkCompensation(b *testing.B) {
	ds := benchData(b)
	doc := parseString(b, "")
	var dims []gating.Dimension
	for _, n := range ds.Names() {
		dims = append(dims, gating.Dimension{Name: n, Compensation: gating.FCSSpillover})
	}
	c0 := cpuTime()
	for b.Loop() {
		if _, err := doc.Values(ds, dims...); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// BenchmarkLogicle transforms all 20 channels' scale values with logicle T 262144, W 0.5,
// M 4.5, A 0.
func BenchmarkLogicle(b *testing.B) {
	ds := benchData(b)
	doc := parseString(b, logicleXML)
	var dims []gating.Dimension
	for _, n := range ds.Names() {
		dims = append(dims, gating.Dimension{Name: n, Compensation: gating.Uncompensated, Transformation: "L"})
	}
	c0 := cpuTime()
	for b.Loop() {
		if _, err := doc.Values(ds, dims...); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// endToEndXML is the reference gating: FCS compensation and logicle on four dimensions, a
// polygon on two of them and a rectangle on the other two as its child.
const endToEndXML = logicleXML + `
<gating:PolygonGate gating:id="P">
  <gating:dimension gating:compensation-ref="FCS" gating:transformation-ref="L"><data-type:fcs-dimension data-type:name="FITC-A"/></gating:dimension>
  <gating:dimension gating:compensation-ref="FCS" gating:transformation-ref="L"><data-type:fcs-dimension data-type:name="PE-A"/></gating:dimension>
  <gating:vertex><gating:coordinate data-type:value="0.25"/><gating:coordinate data-type:value="0.2"/></gating:vertex>
  <gating:vertex><gating:coordinate data-type:value="0.7"/><gating:coordinate data-type:value="0.15"/></gating:vertex>
  <gating:vertex><gating:coordinate data-type:value="0.95"/><gating:coordinate data-type:value="0.5"/></gating:vertex>
  <gating:vertex><gating:coordinate data-type:value="0.8"/><gating:coordinate data-type:value="0.9"/></gating:vertex>
  <gating:vertex><gating:coordinate data-type:value="0.4"/><gating:coordinate data-type:value="0.85"/></gating:vertex>
  <gating:vertex><gating:coordinate data-type:value="0.2"/><gating:coordinate data-type:value="0.5"/></gating:vertex>
</gating:PolygonGate>
<gating:RectangleGate gating:id="R" gating:parent_id="P">
  <gating:dimension gating:compensation-ref="FCS" gating:transformation-ref="L" gating:min="0.3" gating:max="0.9"><data-type:fcs-dimension data-type:name="APC-A"/></gating:dimension>
  <gating:dimension gating:compensation-ref="FCS" gating:transformation-ref="L" gating:min="0.25"><data-type:fcs-dimension data-type:name="PE-Cy7-A"/></gating:dimension>
</gating:RectangleGate>`

// BenchmarkEndToEnd reads the Gating-ML document and the FCS file and gates it, and reports
// the peak heap in use (sampled every millisecond) in MB, to compare with the 160 MB of twice
// the event data (the float32 events alone are 80 MB).
func BenchmarkEndToEnd(b *testing.B) {
	path := benchFile(b)
	xml := []byte(`<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
 xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
 xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">` + endToEndXML + `</gating:Gating-ML>`)
	var peak uint64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		stop := sampleHeap(&peak)
		c0 := cpuTime()
		b.StartTimer()
		doc, err := gating.Parse(strings.NewReader(string(xml)))
		if err != nil {
			b.Fatal(err)
		}
		ds, err := fcs.ReadFile(path, fcs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := doc.Apply(ds)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		stop()
		if p, r := res.Gate("P").Count, res.Gate("R").Count; p == 0 || r == 0 || r >= p {
			b.Fatalf("polygon %d events, rectangle %d: the gates do not cut the data", p, r)
		}
		runtime.KeepAlive(ds)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkApply is BenchmarkEndToEnd's gating alone, on a data set already read.
func BenchmarkApply(b *testing.B) {
	ds := benchData(b)
	doc := parseString(b, endToEndXML)
	c0 := cpuTime()
	for b.Loop() {
		if _, err := doc.Apply(ds); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// sampleHeap records the largest heap in use (bytes of live and not yet swept objects plus
// the unused space of their spans: MemStats.HeapInuse) into peak every millisecond until stop
// is called. It reads runtime/metrics, which does not stop the world.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value.Uint64() + samples[1].Value.Uint64(); v > *peak {
			*peak = v
		}
	}
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// cpuTime returns the CPU time (user and system) the process has used: with other work on
// the machine it measures a benchmark better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since c0.
func reportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric((cpuTime()-c0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
}
