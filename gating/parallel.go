package gating

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Chunk sizes, in events. Gate chunks are multiples of 64 so that goroutines write disjoint
// words of a Membership; compensation chunks keep the columns of a chunk in cache.
const (
	gateChunk = 8192
	compChunk = 1024
)

// workers returns how many goroutines parallel uses.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// parallel calls fn on consecutive ranges [lo, hi) of chunk events covering [0, n), spread over
// the available cores; w is the worker's index in [0, workers()), for per-worker scratch.
func parallel(n, chunk int, fn func(w, lo, hi int)) {
	chunks := (n + chunk - 1) / chunk
	nw := min(workers(), chunks)
	if nw <= 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Go(func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo := c * chunk
				fn(w, lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}
