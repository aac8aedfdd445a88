package plugins

// This file is the registry's only contact with the shader format (package
// isf parses and translates, isfpass.Pass renders): it turns a plugin
// file into metadata and a way to make passes.

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/isf"
	"github.com/shadercast/shadercast/isf/isfpass"
	"github.com/shadercast/shadercast/trial"
)

// shader is one loaded plugin file.
type shader struct {
	name        string
	kind        string
	file        string // the path errors name
	description string
	inputs      []Input
	passes      int
	transition  bool // ISF's transition protocol
	// deps are other files whose change must recompile this shader (the
	// .vs beside it, IMPORTED images), absolute.
	deps []string
	// newPass makes a fresh pass; values are input values to start with
	// (those that no longer fit the declaration are dropped).
	newPass func(values map[string]any) (compositor.Pass, error)
	// source is the file as read, for Options.Trial; nil for built-ins.
	source *trial.Shader
}

// Input is one declared input of a pass, ISF-style.
type Input struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"` // float, bool, long, color, point2D, event, image
	Label    string   `json:"label,omitempty"`
	Default  any      `json:"default,omitempty"`
	Min      any      `json:"min,omitempty"`
	Max      any      `json:"max,omitempty"`
	Identity any      `json:"identity,omitempty"`
	Values   []int    `json:"values,omitempty"`
	Labels   []string `json:"labels,omitempty"`
}

// loadShader reads a plugin file (ISF .fs, ShaderToy .glsl) from dir; the
// folder is the root its .vs and IMPORTED images must stay in, enforced by
// an os.Root (regularfile.DirFS), so that a symbolic link swapped in after
// any check still cannot lead out of it; only regular files are read, so a
// FIFO named like a plugin cannot block the loader. The file is outside
// data: a panic while parsing it is recovered and becomes its error
// (*safe.PanicError).
func loadShader(dir, base string, maxImagePixels int64) (*shader, error) {
	sh, err := safe.Value(func() (*isf.Shader, error) {
		return isf.LoadWith(regularfile.DirFS(dir), base, isf.LoadOptions{MaxImagePixels: maxImagePixels})
	})
	if err != nil {
		// isf names files relative to the root; authors want the path
		// they can open.
		var ie *isf.Error
		if errors.As(err, &ie) && !filepath.IsAbs(ie.File) {
			ie.File = filepath.Join(dir, filepath.FromSlash(ie.File))
		}
		return nil, err
	}
	sh.File = filepath.Join(dir, base)
	var deps []string
	if sh.VertexFile != "" {
		sh.VertexFile = filepath.Join(dir, filepath.FromSlash(sh.VertexFile))
		deps = append(deps, sh.VertexFile)
	}
	for _, im := range sh.Imported {
		deps = append(deps, filepath.Join(dir, filepath.FromSlash(path.Join(path.Dir(base), im.Path))))
	}
	out := fromISF(sh)
	out.source = trialShader(sh, dir, base, maxImagePixels)
	for _, d := range deps {
		if abs, err := filepath.Abs(d); err == nil {
			out.deps = append(out.deps, abs)
		}
	}
	return out, nil
}

// trialShader is what was read of the plugin file, as a trial's input.
func trialShader(sh *isf.Shader, dir, base string, maxImagePixels int64) *trial.Shader {
	return &trial.Shader{File: sh.File, Dir: dir, Base: path.Clean(filepath.ToSlash(base)), Source: sh.Source, Vertex: sh.VertexSource,
		MaxImagePixels: maxImagePixels}
}

// loadEmbedded reads a built-in filter from fsys; prefix is the folder
// that errors and listings name it in.
func loadEmbedded(fsys fs.FS, base, prefix string) (*shader, error) {
	sh, err := isf.Load(fsys, base)
	if err != nil {
		var ie *isf.Error
		if errors.As(err, &ie) {
			ie.File = path.Join(prefix, ie.File)
		}
		return nil, err
	}
	sh.File = path.Join(prefix, base)
	return fromISF(sh), nil
}

func fromISF(sh *isf.Shader) *shader {
	out := &shader{name: sh.Name, kind: string(sh.Kind), file: sh.File, description: sh.Description, passes: len(sh.Passes), transition: sh.IsTransition()}
	for i := range sh.Inputs {
		in := &sh.Inputs[i]
		if in.Name == isf.InputImage && in.Type == isf.TypeImage {
			continue // the frame itself
		}
		out.inputs = append(out.inputs, Input{
			Name: in.Name, Type: in.Type, Label: in.Label,
			Default: in.Go(in.Default), Min: in.Go(in.Min), Max: in.Go(in.Max), Identity: in.Go(in.Identity),
			Values: in.Values, Labels: in.Labels,
		})
	}
	out.newPass = func(values map[string]any) (compositor.Pass, error) {
		if len(values) == 0 {
			return isfpass.New(sh)
		}
		// isfpass.New starts each input at its DEFAULT: hand it a copy
		// whose defaults are the values to keep, then put the declared
		// defaults back for the pass's metadata. The binding also sets
		// the values once the pass is in the pipeline, in case a later
		// compositor reads defaults lazily.
		cp := *sh
		cp.Inputs = append([]isf.Input(nil), sh.Inputs...)
		for i := range cp.Inputs {
			in := &cp.Inputs[i]
			v, ok := values[in.Name]
			if !ok || in.Type == isf.TypeEvent || in.Type == isf.TypeImage {
				continue
			}
			if val, err := in.Coerce(v); err == nil {
				in.Default = val
			}
		}
		p, err := isfpass.New(&cp)
		copy(cp.Inputs, sh.Inputs)
		return p, err
	}
	return out
}

// engineLinear: IMG_NORM_PIXEL filters linearly between texels, as ISF's
// reference implementation does.
const engineLinear = true
