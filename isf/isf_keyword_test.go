package isf

import (
	"strings"
	"testing"
)

// A GLSL reserved word as a target or input name is a header error naming
// the entry, not a compiler error on a translated line.
func TestReservedWordNames(t *testing.T) {
	for _, hdr := range []string{
		`{"INPUTS":[{"NAME":"inputImage","TYPE":"image"}],"PASSES":[{"TARGET":"half"},{}]}`,
		`{"INPUTS":[{"NAME":"inputImage","TYPE":"image"},{"NAME":"filter","TYPE":"float"}]}`,
	} {
		_, err := Parse("x.fs", []byte("/*"+hdr+"*/\nvoid main(){gl_FragColor=vec4(1.0);}\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "identifier") {
			t.Errorf("%s: %v", hdr, err)
		}
	}
}
