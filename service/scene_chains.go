package service

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/plugins"
	"github.com/shadercast/shadercast/scene"
)

// chainKey names a layer's own pass chain: the layers that show one source
// through the same passes share one chain, in every scene, so that it runs
// once per frame and its state (the codes a barcode pass follows) lives
// on across scene switches.
func chainKey(l *scene.Layer) string {
	return l.Source + "\x00" + strings.Join(l.Passes, "\x00")
}

// generatorKey names the generator chain of a layer showing an isf
// source: the source's name and settings, and the layer's passes (they
// run after the shader, in the same chain).
func generatorKey(d *scene.Description, l *scene.Layer) string {
	src := d.Sources[l.Source]
	spec, _ := json.Marshal(src) // map keys sorted: one text per value
	return src.Type + "\x00" + string(spec) + "\x00" + chainKey(l)
}

// layerKey is the key of l's chain in a chains map: its generator's for
// an isf or scene source, else its own passes' ("" for none).
func layerKey(d *scene.Description, l *scene.Layer) string {
	if t := d.Sources[l.Source].Type; t == scene.TypeISF || t == scene.TypeScene {
		return generatorKey(d, l)
	}
	if len(l.Passes) == 0 {
		return ""
	}
	return chainKey(l)
}

// buildChains makes the layer chains d needs (layers' own passes, and
// the generators of isf sources), taking over those of have (may be nil)
// that it needs again. On an error (a pass that does not exist or does
// not compile, a shader that does not load or fails its trial, told by
// its place in d) the chains it made are freed and have is left as it
// was. The caller closes what it no longer uses of have once the new
// chains are in force.
func (s *Service) buildChains(d *scene.Description, have map[string]*compositor.LayerChain) (map[string]*compositor.LayerChain, error) {
	chains := map[string]*compositor.LayerChain{}
	var errs scene.Errors
	failed := map[string]bool{} // sources whose shader failed: said once
	for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
		for i := range d.Scenes[name].Layers {
			l := &d.Scenes[name].Layers[i]
			key := layerKey(d, l)
			if key == "" || chains[key] != nil || failed[l.Source] {
				continue
			}
			if c := have[key]; c != nil {
				chains[key] = c
				continue
			}
			src := d.Sources[l.Source]
			if src.Type == scene.TypeISF || src.Type == scene.TypeScene {
				c, err := s.newGenerator(d, l)
				if err != nil {
					failed[l.Source] = true
					errs = append(errs, &scene.Error{Path: "sources." + l.Source, Msg: err.Error()})
					continue
				}
				chains[key] = c
				continue
			}
			c, err := s.newLayerChain(l)
			if err != nil {
				errs = append(errs, &scene.Error{Path: fmt.Sprintf("scenes.%s.layers[%d].passes", name, i), Msg: err.Error()})
				continue
			}
			chains[key] = c
		}
	}
	if len(errs) > 0 {
		for key, c := range chains {
			if have[key] != c {
				c.Close()
			}
		}
		return nil, errs
	}
	return chains, nil
}

// newLayerChain makes the chain of l's passes: the barcode pass with the
// service's settings, the others from the plugin registry (built-in
// filters, ISF files).
func (s *Service) newLayerChain(l *scene.Layer) (*compositor.LayerChain, error) {
	passes, err := s.newPasses(l.Passes)
	if err != nil {
		return nil, err
	}
	return s.pl.NewLayerChain(l.Source, passes...)
}

// newPasses makes a layer's passes by name.
func (s *Service) newPasses(names []string) ([]compositor.Pass, error) {
	var passes []compositor.Pass
	for _, name := range names {
		p, err := s.newPass(name)
		if err != nil {
			return nil, fmt.Errorf("layer pass %q: %w", name, err)
		}
		passes = append(passes, p)
	}
	return passes, nil
}

// newPass makes a layer's pass by name.
func (s *Service) newPass(name string) (compositor.Pass, error) {
	if name == barcodepass.Name {
		return barcodepass.New(s.barcodeParams), nil
	}
	if in, ok := s.passes.reg.Lookup(name); ok && in.Transition {
		return nil, errTransition(name)
	}
	return s.passes.reg.New(name)
}

// newGenerator makes the generator of l's isf source: its shader (read,
// its inputs checked and set, tried in a child process as a plugin file
// is), at the source's size, then the layer's own passes.
func (s *Service) newGenerator(d *scene.Description, l *scene.Layer) (*compositor.LayerChain, error) {
	src := d.Sources[l.Source]
	w, h := src.Width, src.Height
	if w == 0 {
		w, h = d.Canvas.Width, d.Canvas.Height
	}
	if src.Type == scene.TypeScene {
		// A nested scene: its layers are drawn by the compositor, then
		// the layer's passes.
		passes, err := s.newPasses(l.Passes)
		if err != nil {
			return nil, err
		}
		return s.pl.NewNested(l.Source, w, h, passes...)
	}
	// Looked at before it is read: an edit while it is read is seen by
	// the next look.
	s.scenes.noteShader(src.Path)
	_, pass, err := plugins.LoadFileWith(src.Path, plugins.FileOptions{MaxImagePixels: s.cfg.MaxImagePixels, Inputs: src.Inputs, Trial: s.tryShader})
	if err != nil {
		return nil, err
	}
	passes, err := s.newPasses(l.Passes)
	if err != nil {
		return nil, err
	}
	return s.pl.NewGenerator(l.Source, w, h, append([]compositor.Pass{pass}, passes...)...)
}

// closeChains closes the chains of old that next does not have.
func closeChains(old, next map[string]*compositor.LayerChain) {
	for key, c := range old {
		if next[key] != c {
			c.Close()
		}
	}
}

// rebuildGenerators makes the generators of the isf sources in redo (by
// name) again from their files, in the description in force; on an error
// the ones running stay.
func (s *Service) rebuildGenerators(redo map[string]bool) error {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	d := s.scenes.cur.Load().desc
	have := maps.Clone(s.scenes.chains)
	for _, sc := range d.Scenes {
		for i := range sc.Layers {
			if redo[sc.Layers[i].Source] {
				delete(have, layerKey(d, &sc.Layers[i]))
			}
		}
	}
	chains, err := s.buildChains(d, have)
	if err != nil {
		return fmt.Errorf("--scenes %s: %w", s.scenes.path, err)
	}
	if !s.applyLocked(d, chains, s.carryTransition(d)) {
		closeChains(chains, s.scenes.chains)
	}
	s.scenes.mu.Lock()
	s.scenes.reloadErr = ""
	s.scenes.mu.Unlock()
	return nil
}

// reloadLayerPass makes again, from the registry, the layer chains that
// run plugin pass name and the transition of that name (its file changed,
// or appeared), as the pipeline's own chain follows its files: the new
// chains start with the old ones' input values. A chain that does not
// build keeps running as it was, and the error is reported as a scenes
// version's.
func (s *Service) reloadLayerPass(name string) {
	if s.scenes == nil {
		return
	}
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	if c := s.scenes.transitions[name]; c != nil {
		if t := s.scenes.cur.Load().trans; t != nil && t.chain == c && t.progress(time.Now()) < 1 {
			// In use: the switch under way keeps the version it began
			// with; the next use after it gets the new one.
			s.log.Info("transition reloaded while in use; its new version serves the next switch", "transition", name)
		} else {
			delete(s.scenes.transitions, name) // made again on its next use
			c.Close()
		}
	}
	cur := s.scenes.cur.Load()
	d := cur.desc
	have := maps.Clone(s.scenes.chains)
	stale := map[string]*compositor.LayerChain{}
	for _, sc := range d.Scenes {
		for i := range sc.Layers {
			l := &sc.Layers[i]
			if !slices.Contains(l.Passes, name) {
				continue
			}
			if k := layerKey(d, l); have[k] != nil {
				stale[k] = have[k]
				delete(have, k)
			}
		}
	}
	if len(stale) == 0 {
		return
	}
	chains, err := s.buildChains(d, have)
	if err != nil {
		s.scenesError(fmt.Errorf("pass %q reloaded: %w", name, err))
		return
	}
	for k, old := range stale {
		c := chains[k]
		for _, p := range old.Passes() {
			for _, u := range p.Uniforms {
				c.SetUniform(p.Name, u.Name, u.Value) // what no longer fits is dropped
			}
		}
	}
	if !s.applyLocked(d, chains, s.carryTransition(d)) {
		closeChains(chains, s.scenes.chains)
		return
	}
	s.log.Info("layer chains follow a plugin's new version", "pass", name, "chains", len(stale))
}
