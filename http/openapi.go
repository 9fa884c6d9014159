package http

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// OpenAPI is the OpenAPI 3 document of the API, in YAML. The tests check that it describes
// every route of the route table and every request and response the tests make.
//
//go:embed openapi.yaml
var OpenAPI []byte

// openAPIJSON is OpenAPI converted to JSON once, at start-up: a document that does not parse
// stops the program at once rather than at the first request.
var openAPIJSON = mustOpenAPIJSON(OpenAPI)

func mustOpenAPIJSON(spec []byte) []byte {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		panic(fmt.Sprintf("http: the embedded openapi.yaml does not load: %v", err))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("http: the embedded openapi.yaml does not convert to JSON: %v", err))
	}
	return b
}

func (s *Server) getOpenAPIYAML(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(OpenAPI)
	return nil
}

func (s *Server) getOpenAPIJSON(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIJSON)
	return nil
}
