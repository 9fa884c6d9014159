package http

import (
	"strings"
	"testing"
)

// TestRouteWithoutPermission checks that a route table with a route lacking a valid
// permission stops NewServer at start-up, naming the route.
func TestRouteWithoutPermission(t *testing.T) {
	tests := []struct {
		name string
		perm Permission
	}{
		{"no permission", ""},
		{"unknown permission", "everyone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := func(s *Server) []Route {
				return append(s.routeTable(), Route{"GET", "/api/v1/secrets", "getSecrets", tc.perm, s.getHealth})
			}
			defer func() {
				v := recover()
				msg, _ := v.(string)
				if !strings.Contains(msg, "getSecrets") || !strings.Contains(msg, "permission") {
					t.Errorf("got panic %v, want one naming getSecrets and its missing permission", v)
				}
			}()
			newServer(nil, Options{}, table)
			t.Error("NewServer accepted a route without a permission")
		})
	}
}

// TestEveryRouteHasPermission checks the real table: NewServer does not panic and every
// route's permission is one of the known ones.
func TestEveryRouteHasPermission(t *testing.T) {
	for _, rt := range NewServer(nil, Options{}).Routes() {
		if !rt.Perm.valid() {
			t.Errorf("route %s %s: got permission %q, want a valid one", rt.Method, rt.Pattern, rt.Perm)
		}
	}
}
