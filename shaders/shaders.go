// Package shaders holds shadercast's built-in GLSL (330 core) as files,
// embedded into the binary so that the service needs nothing on disk.
//
// Fragment shaders of the pass chain share one convention: the previous
// result is `uniform sampler2D uInput` on texture unit 0, its size is
// `uniform ivec2 uInputSize`, `ivec2(gl_FragCoord.xy)` is the output pixel
// with row 0 at the top of the image (nothing is flipped anywhere), and the
// result goes to `out vec4 fragColor`. Optional built-ins: `uTime` (seconds,
// from the frame's timestamp) and `uFrame` (frame counter).
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.vert *.frag *.glsl
var files embed.FS

//go:embed filters
var filters embed.FS

//go:embed transitions
var transitions embed.FS

// Transitions returns the built-in ISF transitions (transitions/*.fs:
// startImage, endImage and progress), as a file system rooted at their
// folder.
func Transitions() fs.FS {
	sub, err := fs.Sub(transitions, "transitions")
	if err != nil {
		panic(err) // a constant, valid path
	}
	return sub
}

// Filters returns the example ISF filters (filters/*.fs) and the images
// they import, as a file system rooted at the filters folder.
func Filters() fs.FS {
	sub, err := fs.Sub(filters, "filters")
	if err != nil {
		panic(err) // a constant, valid path
	}
	return sub
}

// Source returns the text of a built-in shader file, e.g. "identity.frag".
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("shaders: no built-in shader %q", name)
	}
	return string(b), nil
}

// MustSource is Source for shaders the program cannot run without.
func MustSource(name string) string {
	s, err := Source(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Names lists the built-in shader files (not the filters).
func Names() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	return names
}
