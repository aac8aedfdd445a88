package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/plugins"
)

// passes ties the pipeline's chain to the plugin registry: every pass after
// the barcode pass comes from the registry (built-ins, example filters,
// --shaders folders) through a binding that hot-reloads it.
type passes struct {
	reg *plugins.Registry

	mu       sync.Mutex
	bindings map[string]*plugins.Binding // per pass added by name
}

// ShaderError is the "shader-error" event: a plugin that does not load or
// compile; the previous version keeps running.
type ShaderError struct {
	Type    string `json:"type"` // "shader-error"
	Name    string `json:"name"`
	File    string `json:"file"`
	Message string `json:"message"`
}

// setupPasses opens the registry and adds the configured passes after the
// barcode pass.
func (s *Service) setupPasses() error {
	reg, err := plugins.Open(plugins.Options{Dirs: s.cfg.ShaderDirs, Builtins: true, Logger: s.log, MaxImagePixels: s.cfg.MaxImagePixels, Trial: s.tryShader})
	if err != nil {
		return fmt.Errorf("--shaders: %w", err)
	}
	s.passes = &passes{reg: reg, bindings: map[string]*plugins.Binding{}}
	for _, n := range s.cfg.Passes {
		if err := s.addPass(n); err != nil {
			return fmt.Errorf("--pass %s: %w", n, err)
		}
	}
	return nil
}

// runPluginEvents reports registry changes: errors to the log (the
// registry logs them too), the events stream, the viewer page and the
// preview window's title; every change as a new pipeline description.
func (s *Service) runPluginEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-s.passes.reg.Events():
			if !ok {
				return
			}
			if ev.Kind == plugins.Error {
				if isPanic(ev.Err) {
					s.stats.panics.Add(1) // recovered loading the plugin; the registry logged the stack
				}
				msg := ev.Err.Error()
				b, _ := json.Marshal(ShaderError{Type: "shader-error", Name: ev.Name, File: ev.File, Message: msg})
				s.hub.publish(event{name: "shader-error", data: b})
				if s.win != nil {
					s.win.SetStatus("shader error: " + firstLine(msg))
				}
			} else if s.win != nil {
				s.win.SetStatus("")
			}
			if ev.Kind == plugins.Changed || ev.Kind == plugins.Added {
				s.reloadLayerPass(ev.Name)
			}
			s.publishPipeline()
		}
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func (s *Service) canMake(name string) bool {
	if name == barcodepass.Name {
		return false // the service's own, first in the chain
	}
	_, ok := s.passes.reg.Lookup(name)
	return ok
}

func errTransition(name string) error {
	return fmt.Errorf("%q is a transition (startImage, endImage, progress), not a filter: it switches scenes (POST /api/scenes/{name}/activate)", name)
}

func (s *Service) addPass(name string) error {
	if name == barcodepass.Name {
		return fmt.Errorf("the barcode pass is always first in the chain; enable or disable it instead")
	}
	if in, ok := s.passes.reg.Lookup(name); !ok {
		return fmt.Errorf("no pass named %q (see GET /api/pipeline \"available\" or `shadercast shader list`)", name)
	} else if in.Transition {
		return errTransition(name)
	}
	b, err := s.passes.reg.Attach(s.pl, []string{name})
	if err != nil {
		if b != nil {
			b.Close()
		}
		// Attach may have added nothing or a pass that then failed.
		return err
	}
	s.passes.mu.Lock()
	s.passes.bindings[name] = b
	s.passes.mu.Unlock()
	return nil
}

func (s *Service) removePass(name string) error {
	if name == barcodepass.Name {
		return fmt.Errorf("the barcode pass cannot be removed; disable it instead")
	}
	s.passes.mu.Lock()
	b := s.passes.bindings[name]
	delete(s.passes.bindings, name)
	s.passes.mu.Unlock()
	if b != nil {
		// Stop hot reload first, or a save could bring the pass back.
		b.Close()
	}
	return s.pl.RemovePass(name)
}

func (s *Service) available() []AvailablePass {
	var out []AvailablePass
	for _, in := range s.passes.reg.List() {
		if in.Name == barcodepass.Name || in.Transition {
			continue // always there; or not a filter (GET /api/scenes lists transitions)
		}
		out = append(out, AvailablePass{Name: in.Name, Description: in.Description, File: in.File, Error: in.LastError})
	}
	return out
}

// passErrors maps pass names to their registry errors, for the pipeline
// view (the chain keeps running the previous version).
func (s *Service) passErrors() map[string]string {
	m := map[string]string{}
	for _, in := range s.passes.reg.List() {
		if in.LastError != "" {
			m[in.Name] = in.LastError
		}
	}
	return m
}

func (p *passes) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	for _, b := range p.bindings {
		b.Close()
	}
	p.bindings = nil
	p.mu.Unlock()
	p.reg.Close()
}
