package http

// Route is one entry of the API's route table: a method, a Go 1.22 ServeMux path pattern and
// the name of the operation, which is its operationId in the OpenAPI document.
type Route struct {
	Method  string
	Pattern string
	Name    string
	Handle  handlerFunc
}

// Routes returns the route table of the API, the one list of what the API serves. Tests check
// it against the OpenAPI document; permissions will be attached here.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// apiPrefix is the root of every API path.
const apiPrefix = "/api/v1"

func (s *Server) routeTable() []Route {
	return []Route{
		{"GET", "/api/v1/healthz", "getHealth", s.getHealth},
		{"GET", "/api/v1/openapi.yaml", "getOpenAPIYAML", s.getOpenAPIYAML},
		{"GET", "/api/v1/openapi.json", "getOpenAPIJSON", s.getOpenAPIJSON},

		{"GET", "/api/v1/sites", "listSites", s.listSites},
		{"POST", "/api/v1/sites", "createSite", s.createSite},
		{"GET", "/api/v1/sites/{code}", "getSite", s.getSite},

		{"GET", "/api/v1/donors", "listDonors", s.listDonors},
		{"POST", "/api/v1/donors", "createDonor", s.createDonor},
		{"GET", "/api/v1/donors/{id}", "getDonor", s.getDonor},
		{"PUT", "/api/v1/donors/{id}", "updateDonor", s.updateDonor},

		{"GET", "/api/v1/components", "listComponents", s.listComponents},
		{"POST", "/api/v1/components", "createComponent", s.createComponent},
		{"GET", "/api/v1/components/{id}", "getComponent", s.getComponent},

		{"GET", "/api/v1/protocols", "listProtocols", s.listProtocols},
		{"POST", "/api/v1/protocols", "createProtocol", s.createProtocol},
		{"GET", "/api/v1/protocols/{id}", "getProtocol", s.getProtocol},
		{"PUT", "/api/v1/protocols/{id}", "updateProtocol", s.updateProtocol},
		{"POST", "/api/v1/protocols/{id}/versions", "createProtocolVersion", s.createProtocolVersion},
		{"GET", "/api/v1/protocols/{id}/diff", "diffProtocols", s.diffProtocols},

		{"GET", "/api/v1/cultures", "listCultures", s.listCultures},
		{"POST", "/api/v1/cultures", "createCulture", s.createCulture},
		{"GET", "/api/v1/cultures/{id}", "getCulture", s.getCulture},
		{"POST", "/api/v1/cultures/{id}/status", "setCultureStatus", s.setCultureStatus},
		{"GET", "/api/v1/cultures/{id}/observations", "listCultureObservations", s.listCultureObservations},
		{"POST", "/api/v1/cultures/{id}/observations", "createObservation", s.createObservation},
		{"GET", "/api/v1/cultures/{id}/metrics", "getCultureMetrics", s.getCultureMetrics},
		{"GET", "/api/v1/cultures/{id}/assays", "listCultureAssays", s.listCultureAssays},
		{"POST", "/api/v1/cultures/{id}/assays", "createAssay", s.createAssay},

		{"GET", "/api/v1/observations/{id}", "getObservation", s.getObservation},
		{"PUT", "/api/v1/observations/{id}", "updateObservation", s.updateObservation},
		{"POST", "/api/v1/observations/{id}/void", "voidObservation", s.voidObservation},

		{"GET", "/api/v1/assays", "listAssays", s.listAssays},
		{"GET", "/api/v1/assays/{id}", "getAssay", s.getAssay},

		{"GET", "/api/v1/audit", "listAuditEvents", s.listAuditEvents},
	}
}
