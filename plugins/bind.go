package plugins

import (
	"slices"

	"github.com/shadercast/shadercast/compositor"
)

// Binding keeps a pipeline's plugin passes in step with the registry.
type Binding struct {
	r     *Registry
	pl    *compositor.Pipeline
	names []string // wanted passes, in chain order
}

// Attach adds the passes called names to pl (in that order, after the
// passes already there) and keeps them up to date until the Binding or the
// Registry is closed: a changed file replaces its pass keeping inputs,
// enabled state and position; a removed file removes the pass; a name
// whose file appears later is added then, at its place among names. A name
// that is not available yet is not an error; one that fails to compile is
// (the others stay added), and it is reported like any reload error.
func (r *Registry) Attach(pl *compositor.Pipeline, names []string) (*Binding, error) {
	b := &Binding{r: r, pl: pl, names: slices.Clone(names)}
	r.bindMu.Lock()
	defer r.bindMu.Unlock()
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	var firstErr error
	for _, n := range b.names {
		if err := b.sync(n); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	r.bindings = append(r.bindings, b)
	return b, firstErr
}

// Close stops updating the pipeline; its passes stay as they are.
func (b *Binding) Close() error {
	b.r.bindMu.Lock()
	defer b.r.bindMu.Unlock()
	b.r.bindings = slices.DeleteFunc(b.r.bindings, func(x *Binding) bool { return x == b })
	return nil
}

// syncBindings brings every attached pipeline in step with name.
func (r *Registry) syncBindings(name string) {
	r.bindMu.Lock()
	defer r.bindMu.Unlock()
	for _, b := range r.bindings {
		if slices.Contains(b.names, name) {
			b.sync(name) // errors are reported by sync
		}
	}
}

// sync makes the pipeline's pass called name match the registry; bindMu
// is held.
func (b *Binding) sync(name string) error {
	present := false
	var values map[string]any
	var uniforms []compositor.UniformInfo
	for _, p := range b.pl.Passes() {
		if p.Name == name {
			present = true
			values = map[string]any{}
			for _, u := range p.Uniforms {
				if u.Type != "event" { // a pulse, not a state
					values[u.Name] = u.Value
					uniforms = append(uniforms, u)
				}
			}
		}
	}
	if _, ok := b.r.Lookup(name); !ok {
		if present {
			if err := b.pl.RemovePass(name); err != nil {
				return err
			}
		}
		return nil
	}
	pass, err := b.r.newPass(name, values)
	if err != nil {
		return err // a plugin that never loaded: already reported
	}
	// Tried off the pipeline first: a shader that never finishes a
	// frame must not reach the GL thread the pipeline renders on.
	if err := b.r.try(name, values); err != nil {
		b.r.setError(name, err)
		return err
	}
	if present {
		err = b.pl.ReplacePass(pass)
	} else if err = b.pl.AddPass(pass); err == nil {
		err = b.place(name)
	}
	if err != nil {
		b.r.setError(name, err)
		return err
	}
	for _, u := range uniforms {
		if s, ok := u.Value.(string); ok && s == "" {
			continue // an image input with no image
		}
		// The new pass started with these values already (newPass);
		// image inputs are loaded only here. An input whose declaration
		// changed so that the old value no longer fits keeps its default.
		_ = b.pl.SetUniform(name, u.Name, u.Value)
	}
	if present {
		b.r.log.Info("pass reloaded", "name", name)
	} else {
		b.r.log.Info("pass added to the pipeline", "name", name)
	}
	b.r.clearError(name)
	return nil
}

// place moves a just-added pass after the nearest pass that precedes it
// in b.names and is in the chain, else before the nearest one that
// follows it, else leaves it last.
func (b *Binding) place(name string) error {
	var order []string
	for _, p := range b.pl.Passes() {
		if p.Name != name {
			order = append(order, p.Name)
		}
	}
	k := slices.Index(b.names, name)
	at := -1
	for _, n := range b.names[:k] {
		if i := slices.Index(order, n); i >= 0 {
			at = i + 1
		}
	}
	if at < 0 {
		for _, n := range b.names[k+1:] {
			if i := slices.Index(order, n); i >= 0 {
				at = i
				break
			}
		}
	}
	if at < 0 || at == len(order) {
		return nil
	}
	return b.pl.SetOrder(slices.Insert(order, at, name))
}
