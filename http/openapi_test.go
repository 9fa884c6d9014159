package http_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clink-consortium/clink/client"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// TestRoutesMatchSpec checks that the route table and the OpenAPI document describe the same
// operations: every route is in the document with its operationId, and every operation of the
// document is in the route table.
func TestRoutesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	routes := clinkhttp.NewServer(nil, clinkhttp.Options{}).Routes()
	inTable := map[string]string{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		if _, dup := inTable[key]; dup {
			t.Errorf("route %s is in the table twice", key)
		}
		inTable[key] = rt.Name
		item := doc.Paths.Find(rt.Pattern)
		if item == nil || doc.Paths.Value(rt.Pattern) == nil {
			t.Errorf("route %s: path %s is not in the OpenAPI document", key, rt.Pattern)
			continue
		}
		op := item.GetOperation(rt.Method)
		if op == nil {
			t.Errorf("route %s: the OpenAPI document has no %s operation on %s", key, rt.Method, rt.Pattern)
			continue
		}
		if op.OperationID != rt.Name {
			t.Errorf("route %s: got operationId %q, want %q", key, op.OperationID, rt.Name)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			if _, ok := inTable[key]; !ok {
				t.Errorf("the OpenAPI document describes %s, which is not in the route table", key)
			}
		}
	}
	if len(routes) < 30 {
		t.Errorf("got %d routes, want at least 30 (the table looks truncated)", len(routes))
	}
}

// TestSpecParameters checks that every path parameter of a route is declared in the document.
func TestSpecParameters(t *testing.T) {
	doc := loadSpec(t)
	for _, rt := range clinkhttp.NewServer(nil, clinkhttp.Options{}).Routes() {
		item := doc.Paths.Value(rt.Pattern)
		if item == nil {
			continue // reported by TestRoutesMatchSpec
		}
		op := item.GetOperation(rt.Method)
		if op == nil {
			continue
		}
		params := append(openapi3.Parameters{}, item.Parameters...)
		params = append(params, op.Parameters...)
		for _, seg := range strings.Split(rt.Pattern, "/") {
			if !strings.HasPrefix(seg, "{") {
				continue
			}
			name := strings.Trim(seg, "{}")
			if params.GetByInAndName("path", name) == nil {
				t.Errorf("%s %s: path parameter %s is not declared", rt.Method, rt.Pattern, name)
			}
		}
	}
}

// TestServeOpenAPI checks that the server serves the document it embeds, in YAML and JSON.
func TestServeOpenAPI(t *testing.T) {
	srv := newSpecServer(t)
	ctx := context.Background()
	y, err := client.New(srv.URL).OpenAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(y) != string(clinkhttp.OpenAPI) {
		t.Errorf("GET openapi.yaml: got %d bytes, want the embedded document (%d bytes)", len(y), len(clinkhttp.OpenAPI))
	}
	resp, err := srv.Client().Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc openapi3.T
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("GET openapi.json: %v", err)
	}
	if got, want := doc.Paths.Len(), loadSpec(t).Paths.Len(); got != want || want == 0 {
		t.Errorf("GET openapi.json: got %d paths, want %d", got, want)
	}
	if !slices.Contains([]string{"3.0.3"}, doc.OpenAPI) {
		t.Errorf("GET openapi.json: got openapi %q, want 3.0.3", doc.OpenAPI)
	}
}
