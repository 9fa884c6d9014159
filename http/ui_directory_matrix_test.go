package http_test

import (
	"fmt"
	"strings"
)

// The pages of ui_directory.go, ui_compare.go and ui_audit.go in the permission matrix.
func init() {
	page := func(path string) func(*matrixEnv) (string, any) {
		return func(*matrixEnv) (string, any) { return path, nil }
	}
	addUIMatrix("donorList", "read", 200, page("/donors"))
	addUIMatrix("donorPage", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/donors/%d", e.donor.ID), nil
	})
	addUIMatrix("protocolList", "read", 200, page("/protocols"))
	addUIMatrix("protocolPage", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/protocols/%d", e.proto.ID), nil
	})
	addUIMatrix("protocolChart", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/protocols/%d/charts/nk-fold.svg", e.proto.ID), nil
	})
	addUIMatrix("auditPage", "read", 200, page("/audit"))
	addUIMatrix("comparePage", "read", 200, func(e *matrixEnv) (string, any) {
		// The same question as the API's comparison in the matrix.
		return strings.Replace(e.comparePath(), "/api/v1/analysis/compare", "/compare", 1), nil
	})
	addUIMatrix("compareChart", "read", 200, func(e *matrixEnv) (string, any) {
		return strings.Replace(e.comparePath(), "/api/v1/analysis/compare", "/compare/charts/paired.csv", 1), nil
	})
}
