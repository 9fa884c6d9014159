package http_test

import (
	"encoding/json"
	"fmt"
	neturl "net/url"
)

// uiMatrixEntry is the permission-matrix line of a page route (TestPermissionMatrix) and the
// request that exercises it.
type uiMatrixEntry struct {
	rule    matrixRule
	request func(e *matrixEnv) (path string, body any)
}

// uiMatrix holds the page routes of the permission matrix. Each file of page tests adds its
// routes with addUIMatrix from an init function, so that pages are added without editing
// authz_test.go.
var uiMatrix = map[string]uiMatrixEntry{}

// addUIMatrix enters the page route name in the permission matrix with its rule (kind and
// status of success) and its request; a body of url.Values is posted as a form.
func addUIMatrix(name string, kind string, ok int, request func(e *matrixEnv) (string, any)) {
	if _, dup := uiMatrix[name]; dup {
		panic("addUIMatrix: " + name + " entered twice")
	}
	uiMatrix[name] = uiMatrixEntry{matrixRule{kind, ok}, request}
	matrix[name] = matrixRule{kind, ok}
}

func init() {
	page := func(path string) func(*matrixEnv) (string, any) {
		return func(*matrixEnv) (string, any) { return path, nil }
	}
	// Any version of an asset is served; only the current one is cacheable.
	addUIMatrix("static", "public", 200, page("/static/0/clink.css"))
	addUIMatrix("loginPage", "public", 200, page("/login"))
	addUIMatrix("login", "public", 303, func(*matrixEnv) (string, any) {
		return "/login", neturl.Values{"username": {matrixLogin}, "password": {testPassword}}
	})
	addUIMatrix("logout", "read", 303, page("/logout"))
	addUIMatrix("account", "read", 200, page("/account"))
	// The matrix's users have no password it knows: an empty form is refused before the store
	// is asked, which shows who may reach the handler (ui_account_test.go changes a password).
	addUIMatrix("changePassword", "read", 422, func(*matrixEnv) (string, any) {
		return "/account/password", neturl.Values{}
	})
	addUIMatrix("dashboard", "read", 200, page("/"))
	addUIMatrix("dashboardChart", "read", 200, page("/dashboard/charts/pareto.csv"))
	addUIMatrix("dashboardScoreboard", "read", 200, page("/dashboard/scoreboard"))
	addUIMatrix("cultureList", "read", 200, page("/cultures"))
	addUIMatrix("culturePage", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d", e.culture.ID), nil
	})
	addUIMatrix("cultureChart", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d/charts/growth.svg", e.culture.ID), nil
	})
	addUIMatrix("addObservation", "research", 303, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d/observations", e.newCulture().ID),
			neturl.Values{"day": {"3"}, "viable_cells": {"2e6"}, "viability_pct": {"92"}}
	})
	addUIMatrix("observationEdit", "read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/observations/%d/edit", e.obs.ID), nil
	})
	addUIMatrix("correctObservation", "research", 303, func(e *matrixEnv) (string, any) {
		o := e.newObservation()
		return fmt.Sprintf("/observations/%d", o.ID),
			neturl.Values{"day": {"7"}, "viable_cells": {"2.1e7"}, "nk_pct": {"80"}, "reason": {"count re-read"}}
	})
	// The optimizer's page and charts read (they compute and store nothing); its draft form
	// writes a protocol version of the base protocol's site. Their requests use the matrix's
	// design space (optimizer_test.go).
	addUIMatrix("optimizerPage", "read", 200, func(e *matrixEnv) (string, any) {
		return "/optimizer?" + matrixOptimizerQuery(e), nil
	})
	addUIMatrix("optimizerChart", "read", 200, func(e *matrixEnv) (string, any) {
		return "/optimizer/charts/pd-il2.csv?" + matrixOptimizerQuery(e), nil
	})
	addUIMatrix("createDraftForm", "research", 303, func(e *matrixEnv) (string, any) {
		point, err := json.Marshal(matrixDraftPoint)
		e.check(err)
		return "/optimizer/drafts", neturl.Values{"space": {matrixOptimizerSpace(e)}, "point": {string(point)},
			"protocol": {fmt.Sprint(e.newProtocol().ID)}}
	})
	addUIMatrix("voidObservationForm", "research", 303, func(e *matrixEnv) (string, any) {
		o := e.newObservation()
		return fmt.Sprintf("/observations/%d/void", o.ID), neturl.Values{"void_reason": {"entered on the wrong culture"}}
	})

	// Manufacturing (ui_manufacturing*.go): the pages read what the API's GETs read; each form
	// needs what its API operation needs. The records come from mfgMatrix
	// (ui_manufacturing_test.go). The matrix's users have no password it knows: a signature
	// without one is refused before the service is asked (422, nothing recorded), which shows
	// who may reach the handler; TestSignPrompt signs.
	addUIMatrix("batchList", "gmp-read", 200, page("/batches"))
	addUIMatrix("patientList", "gmp-read", 200, page("/patients"))
	addUIMatrix("batchPage", "gmp-read", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/batches/%d", mfgMatrix(e).freshBatch(e).ID), nil
	})
	addUIMatrix("addBatch", "manufacture", 303, func(e *matrixEnv) (string, any) {
		return "/batches", neturl.Values{"site": {ownSite}, "request_id": {fmt.Sprint(mfgMatrix(e).request.ID)}}
	})
	addUIMatrix("recordStepForm", "manufacture", 303, mfgMatrixStep)
	addUIMatrix("recordResultForm", "manufacture", 303, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/batches/%d/results", mfgMatrix(e).freshBatch(e).ID), neturl.Values{"test": {"viability"}, "value": {"92"}}
	})
	addUIMatrix("raiseDeviationForm", "manufacture", 303, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/batches/%d/deviations", mfgMatrix(e).freshBatch(e).ID),
			neturl.Values{"description": {"late feed on day 7"}, "capa": {"CAPA-2026-001"}, "tests": {"viability"}}
	})
	addUIMatrix("signBatchForm", "sign", 422, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/batches/%d/signatures", mfgMatrix(e).freshBatch(e).ID), neturl.Values{"meaning": {"reviewed"}}
	})
	addUIMatrix("scanBatchForm", "custody", 303, mfgMatrixScan)
	addUIMatrix("addPatient", "clinical", 303, func(*matrixEnv) (string, any) {
		return "/patients", neturl.Values{"site": {ownSite}, "identity.mrn": {"BCN-0002"}, "identity.name": {"Matrix, Second"}}
	})
	addUIMatrix("addTreatmentRequest", "clinical", 303, func(e *matrixEnv) (string, any) {
		return "/treatment-requests", neturl.Values{"patient_id": {fmt.Sprint(mfgMatrix(e).patient.ID)}, "donor_id": {fmt.Sprint(e.donor.ID)},
			"protocol_id": {fmt.Sprint(e.proto.ID)}, "target_nk_per_kg": {"1e7"}, "weight_kg": {"64"}, "infusion_dates": {"2027-01-10"}}
	})
}
