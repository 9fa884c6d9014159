package gating_test

import (
	"os"
	"path/filepath"
	"testing"
)

// flowData returns the shared flow-cytometry test data folder (shared/data/flow, beside the
// repository). When it is absent the test is skipped, except under CI=true, where that fails.
func flowData(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared flow data: %v", err)
		}
		tb.Skipf("shared flow data not available: %v", err)
	}
	return dir
}
