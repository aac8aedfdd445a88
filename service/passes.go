package service

import (
	"fmt"

	"github.com/shadercast/shadercast/compositor"
)

// builtinPasses are the shader files shipped with the binary that can be
// added by name.
var builtinPasses = map[string]string{
	"identity": "identity.frag",
	"invert":   "invert.frag",
	"sharpen":  "sharpen.frag",
}

// setupPasses adds the configured passes after the barcode pass.
func (s *Service) setupPasses() error {
	for _, n := range s.cfg.Passes {
		if err := s.addPass(n); err != nil {
			return fmt.Errorf("--pass %s: %w", n, err)
		}
	}
	return nil
}

func (s *Service) makePass(name string) (compositor.Pass, error) {
	if name == "barcode" && s.barcode == nil {
		return nil, fmt.Errorf("the barcode pass was turned off (--no-barcode)")
	}
	file, ok := builtinPasses[name]
	if !ok {
		return nil, fmt.Errorf("no pass named %q", name)
	}
	return compositor.NewBuiltinPass(name, file, nil)
}

func (s *Service) canMake(name string) bool {
	_, ok := builtinPasses[name]
	return ok
}

func (s *Service) addPass(name string) error {
	p, err := s.makePass(name)
	if err != nil {
		return err
	}
	return s.pl.AddPass(p)
}

func (s *Service) removePass(name string) error {
	if name == "barcode" {
		return fmt.Errorf("the barcode pass cannot be removed; disable it instead")
	}
	return s.pl.RemovePass(name)
}

func (s *Service) available() []AvailablePass {
	var out []AvailablePass
	for n, f := range builtinPasses {
		out = append(out, AvailablePass{Name: n, File: f})
	}
	return out
}
