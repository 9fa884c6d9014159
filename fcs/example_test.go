package fcs_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/clink-consortium/clink/fcs"
)

// Reading a data set: its parameters, spillover and scale values.
func ExampleRead() {
	var file bytes.Buffer
	if err := fcs.WriteSynthetic(&file, 1000, 6, 1); err != nil {
		log.Fatal(err)
	}
	d, err := fcs.Read(bytes.NewReader(file.Bytes()), int64(file.Len()), fcs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Version, d.Events, d.Names())
	detectors, _, ok := d.SpilloverMatrix()
	fmt.Println(ok, len(detectors))
	ch, _ := d.Channel("Time")
	time := d.Scale(ch, nil) // stored ticks x $TIMESTEP
	fmt.Printf("time from %g s to %g s\n", time[0], time[len(time)-1])
	// Output:
	// FCS3.1 1000 [FSC-A SSC-A FITC-A PE-A PE-CF594-A Time]
	// true 6
	// time from 0 s to 299.7 s
}

// Exporting a gated population: the events whose FSC-A is above 50,000.
func ExampleWriteDataSet() {
	var file bytes.Buffer
	if err := fcs.WriteSynthetic(&file, 1000, 6, 1); err != nil {
		log.Fatal(err)
	}
	d, err := fcs.Read(bytes.NewReader(file.Bytes()), int64(file.Len()), fcs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ch, _ := d.Channel("FSC-A")
	var gated []int
	for i, v := range d.Scale(ch, nil) {
		if v > 50000 {
			gated = append(gated, i)
		}
	}
	var out bytes.Buffer
	if err := fcs.WriteDataSet(&out, d, gated, 'F'); err != nil {
		log.Fatal(err)
	}
	sub, err := fcs.Read(bytes.NewReader(out.Bytes()), int64(out.Len()), fcs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sub.Events == len(gated), sub.Names())
	// Output:
	// true [FSC-A SSC-A FITC-A PE-A PE-CF594-A Time]
}
