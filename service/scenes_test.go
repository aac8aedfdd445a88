package service

import (
	"strings"
	"testing"
)

// Standard input feeds one source only: a second "-" is refused by its
// place.
func TestParseScenesOneStdin(t *testing.T) {
	_, err := parseScenes([]byte(`{"sources": {"a": {"type": "y4m", "path": "-"}, "b": {"type": "y4m", "path": "-"}},
 "scenes": {"s": {"layers": [{"source": "a"}, {"source": "b"}]}}, "program": "s"}`))
	if err == nil || !strings.Contains(err.Error(), "sources.b.path") {
		t.Errorf("two sources on standard input: %v", err)
	}
}
