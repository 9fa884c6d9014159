package clink

import (
	"fmt"
	"strings"
	"testing"
)

// TestReadAll checks that ReadAll reads every page of a list and stops at the total.
func TestReadAll(t *testing.T) {
	for _, n := range []int{0, 1, MaxLimit - 1, MaxLimit, MaxLimit + 1, 2*MaxLimit + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			calls := 0
			got, err := ReadAll(func(p Page) ([]int, int, error) {
				calls++
				if p.Limit != MaxLimit {
					t.Fatalf("got limit %d, want %d", p.Limit, MaxLimit)
				}
				var items []int
				for i := p.Offset; i < n && i < p.Offset+p.Limit; i++ {
					items = append(items, i)
				}
				return items, n, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("got %d items, want %d", len(got), n)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("item %d: got %d, want %d", i, v, i)
				}
			}
			if want := max(1, (n+MaxLimit-1)/MaxLimit); calls != want {
				t.Errorf("got %d calls, want %d", calls, want)
			}
		})
	}
	_, err := ReadAll(func(Page) ([]int, int, error) { return nil, 0, fmt.Errorf("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("got %v, want the list's error", err)
	}
}
