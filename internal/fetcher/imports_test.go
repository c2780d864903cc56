package fetcher

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/camrelay/camrelay/"

// The fetcher knows its upstream only by the contracts it declares
// (Source, Credentials, UpstreamError) and preview's types and errors, so a
// second upstream plugs in without touching it: neither the package nor
// anything it imports, nor its tests, import an upstream client.
func TestFetcherImportsNoUpstream(t *testing.T) {
	banned := module + "internal/een"
	self, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(self.TestImports, banned) {
		t.Errorf("fetcher's tests import %s", banned)
	}
	// Walk the module's packages the fetcher depends on, breadth first.
	via := map[string]string{module + "internal/fetcher": ""}
	queue := []string{module + "internal/fetcher"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		dir := filepath.Join("..", "..", strings.TrimPrefix(path, module))
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if _, seen := via[imp]; seen || !strings.HasPrefix(imp, module) {
				continue
			}
			via[imp] = path
			queue = append(queue, imp)
		}
	}
	if _, ok := via[banned]; ok {
		chain := []string{banned}
		for p := via[banned]; p != ""; p = via[p] {
			chain = append(chain, p)
		}
		slices.Reverse(chain)
		t.Errorf("fetcher depends on %s: %s", banned, strings.Join(chain, " → "))
	}
	if len(via) < 2 {
		t.Fatalf("walked %d packages: the walk found not even preview", len(via))
	}
}
