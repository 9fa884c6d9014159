package http

import "fmt"

// Route is one entry of the API's route table: a method, a Go 1.22 ServeMux path pattern, the
// name of the operation, which is its operationId in the OpenAPI document, and the permission
// it needs (see authz.go).
type Route struct {
	Method  string
	Pattern string
	Name    string
	Perm    Permission
	Handle  handlerFunc
}

// checkRoutes refuses a route table with a route whose permission is missing or unknown.
func checkRoutes(routes []Route) error {
	for _, rt := range routes {
		if !rt.Perm.valid() {
			return fmt.Errorf("route %s %s (%s) has no valid permission (got %q): every route needs one", rt.Method, rt.Pattern, rt.Name, rt.Perm)
		}
	}
	return nil
}

// Routes returns the route table of the API, the one list of what the API serves. Tests check
// it against the OpenAPI document and the permission matrix.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// apiPrefix is the root of every API path.
const apiPrefix = "/api/v1"

func (s *Server) routeTable() []Route {
	return []Route{
		{"GET", "/api/v1/healthz", "getHealth", PermPublic, s.getHealth},
		{"GET", "/healthz", "getLiveness", PermPublic, s.getLiveness},
		{"GET", "/readyz", "getReadiness", PermPublic, s.getReadiness},
		{"GET", "/metrics", "getMetrics", PermRead, s.getMetrics},
		{"GET", "/api/v1/openapi.yaml", "getOpenAPIYAML", PermPublic, s.getOpenAPIYAML},
		{"GET", "/api/v1/openapi.json", "getOpenAPIJSON", PermPublic, s.getOpenAPIJSON},

		{"GET", "/api/v1/sites", "listSites", PermRead, s.listSites},
		{"POST", "/api/v1/sites", "createSite", PermCreateSite, s.createSite},
		{"GET", "/api/v1/sites/{code}", "getSite", PermRead, s.getSite},

		{"GET", "/api/v1/donors", "listDonors", PermRead, s.listDonors},
		{"POST", "/api/v1/donors", "createDonor", PermWriteResearch, s.createDonor},
		{"GET", "/api/v1/donors/{id}", "getDonor", PermRead, s.getDonor},
		{"PUT", "/api/v1/donors/{id}", "updateDonor", PermWriteResearch, s.updateDonor},

		{"GET", "/api/v1/components", "listComponents", PermRead, s.listComponents},
		{"POST", "/api/v1/components", "createComponent", PermCreateComponent, s.createComponent},
		{"GET", "/api/v1/components/{id}", "getComponent", PermRead, s.getComponent},

		{"GET", "/api/v1/protocols", "listProtocols", PermRead, s.listProtocols},
		{"POST", "/api/v1/protocols", "createProtocol", PermWriteResearch, s.createProtocol},
		{"GET", "/api/v1/protocols/{id}", "getProtocol", PermRead, s.getProtocol},
		{"PUT", "/api/v1/protocols/{id}", "updateProtocol", PermWriteResearch, s.updateProtocol},
		{"POST", "/api/v1/protocols/{id}/versions", "createProtocolVersion", PermWriteResearch, s.createProtocolVersion},
		{"GET", "/api/v1/protocols/{id}/diff", "diffProtocols", PermRead, s.diffProtocols},

		{"GET", "/api/v1/cultures", "listCultures", PermRead, s.listCultures},
		{"POST", "/api/v1/cultures", "createCulture", PermWriteResearch, s.createCulture},
		{"GET", "/api/v1/cultures/{id}", "getCulture", PermRead, s.getCulture},
		{"POST", "/api/v1/cultures/{id}/status", "setCultureStatus", PermWriteResearch, s.setCultureStatus},
		{"GET", "/api/v1/cultures/{id}/observations", "listCultureObservations", PermRead, s.listCultureObservations},
		{"POST", "/api/v1/cultures/{id}/observations", "createObservation", PermWriteResearch, s.createObservation},
		{"GET", "/api/v1/cultures/{id}/metrics", "getCultureMetrics", PermRead, s.getCultureMetrics},
		{"GET", "/api/v1/cultures/{id}/assays", "listCultureAssays", PermRead, s.listCultureAssays},
		{"POST", "/api/v1/cultures/{id}/assays", "createAssay", PermWriteResearch, s.createAssay},

		{"GET", "/api/v1/observations/{id}", "getObservation", PermRead, s.getObservation},
		{"PUT", "/api/v1/observations/{id}", "updateObservation", PermWriteResearch, s.updateObservation},
		{"POST", "/api/v1/observations/{id}/void", "voidObservation", PermWriteResearch, s.voidObservation},
		{"GET", "/api/v1/observations/{id}/fcs", "listObservationFCS", PermRead, s.listObservationFCS},
		{"POST", "/api/v1/observations/{id}/fcs", "attachFCS", PermWriteResearch, s.attachFCS},

		{"GET", "/api/v1/gating-templates", "listGatingTemplates", PermRead, s.listGatingTemplates},
		{"POST", "/api/v1/gating-templates", "createGatingTemplate", PermWriteResearch, s.createGatingTemplate},
		{"GET", "/api/v1/gating-templates/{id}", "getGatingTemplate", PermRead, s.getGatingTemplate},
		{"PUT", "/api/v1/gating-templates/{id}", "updateGatingTemplate", PermWriteResearch, s.updateGatingTemplate},
		{"POST", "/api/v1/gating-templates/{id}/void", "voidGatingTemplate", PermWriteResearch, s.voidGatingTemplate},
		{"GET", "/api/v1/fcs/{sha256}", "getFCSFile", PermRead, s.getFCSFile},

		{"GET", "/api/v1/design-spaces", "listDesignSpaces", PermRead, s.listDesignSpaces},
		{"POST", "/api/v1/design-spaces", "createDesignSpace", PermWriteResearch, s.createDesignSpace},
		{"GET", "/api/v1/design-spaces/{ref}", "getDesignSpace", PermRead, s.getDesignSpace},
		{"POST", "/api/v1/design-spaces/{id}/void", "voidDesignSpace", PermWriteResearch, s.voidDesignSpace},
		{"POST", "/api/v1/optimizer/suggestions", "createSuggestions", PermRead, s.createSuggestions},
		{"POST", "/api/v1/optimizer/drafts", "createDraft", PermWriteResearch, s.createDraft},

		{"GET", "/api/v1/assays", "listAssays", PermRead, s.listAssays},
		{"GET", "/api/v1/assays/{id}", "getAssay", PermRead, s.getAssay},

		{"GET", "/api/v1/analysis/compare", "compareProtocols", PermRead, s.getAnalysisCompare},
		{"GET", "/api/v1/analysis/ranking", "rankProtocols", PermRead, s.getAnalysisRanking},

		{"GET", "/api/v1/audit", "listAuditEvents", PermRead, s.listAuditEvents},

		{"GET", "/api/v1/patients", "listPatients", PermReadGMP, s.listPatients},
		{"POST", "/api/v1/patients", "createPatient", PermClinical, s.createPatient},
		{"GET", "/api/v1/patients/{id}", "getPatient", PermReadGMP, s.getPatient},
		{"GET", "/api/v1/treatment-requests", "listTreatmentRequests", PermReadGMP, s.listTreatmentRequests},
		{"POST", "/api/v1/treatment-requests", "createTreatmentRequest", PermClinical, s.createTreatmentRequest},
		{"GET", "/api/v1/treatment-requests/{id}", "getTreatmentRequest", PermReadGMP, s.getTreatmentRequest},
		{"GET", "/api/v1/release-specs", "listReleaseSpecs", PermReadGMP, s.listReleaseSpecs},
		{"POST", "/api/v1/release-specs", "createReleaseSpec", PermEditSpec, s.createReleaseSpec},
		{"GET", "/api/v1/release-specs/{id}", "getReleaseSpec", PermReadGMP, s.getReleaseSpec},
		{"GET", "/api/v1/batches", "listBatches", PermReadGMP, s.listBatches},
		{"POST", "/api/v1/batches", "createBatch", PermManufacture, s.createBatch},
		{"GET", "/api/v1/batches/{id}", "getBatch", PermReadGMP, s.getBatch},
		{"POST", "/api/v1/batches/{id}/steps", "recordStep", PermManufacture, s.recordStep},
		{"POST", "/api/v1/batches/{id}/results", "recordResult", PermManufacture, s.recordResult},
		{"POST", "/api/v1/batches/{id}/deviations", "raiseDeviation", PermManufacture, s.raiseDeviation},
		{"POST", "/api/v1/batches/{id}/signatures", "signBatch", PermSign, s.signBatch},
		{"POST", "/api/v1/batches/{id}/custody", "scanBatch", PermCustody, s.scanBatch},
		{"GET", "/api/v1/batches/{id}/certificate", "getCertificate", PermReadGMP, s.getCertificate},
		{"GET", "/api/v1/batches/{id}/labels/{bag}", "getLabel", PermReadGMP, s.getLabel},
	}
}
