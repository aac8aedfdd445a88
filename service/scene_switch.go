package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/isf"
)

// sceneTransition is a switch from one scene to the programme through a
// transition's pass, over a duration from start.
type sceneTransition struct {
	name     string
	from     string             // the scene going off
	layers   []compositor.Layer // its layers, on the set's sources
	chain    *compositor.LayerChain
	start    time.Time
	duration time.Duration
}

// progress is how far the transition is at t, 0 to 1.
func (t *sceneTransition) progress(at time.Time) float64 {
	if t.duration <= 0 {
		return 1
	}
	return min(max(float64(at.Sub(t.start))/float64(t.duration), 0), 1)
}

// switchProgram puts scene name on air, with a cut when tr is nil, and
// reports whether the description in force has it. The change is made on
// the description in force under applyMu, so that a reload between the
// caller's look and the switch is not undone. A switch during a
// transition starts from the scene that transition was going to.
func (s *Service) switchProgram(name string, tr *switchRequest) error {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	cur := s.scenes.cur.Load()
	if _, ok := cur.desc.Scenes[name]; !ok {
		return fmt.Errorf("no scene %q", name)
	}
	d := *cur.desc
	from := d.Program
	d.Program = name
	var trans *sceneTransition
	if tr != nil {
		// Made or found under the same lock as the switch: a reload
		// cannot close it in between.
		chain, err := s.transitionChainLocked(tr.name, tr.inputs)
		if err != nil {
			return err
		}
		if from != name {
			trans = &sceneTransition{name: tr.name, from: from, chain: chain, start: time.Now(), duration: tr.duration}
		}
	}
	s.applyLocked(&d, s.scenes.chains, trans)
	return nil
}

// switchRequest is a transition asked for: its name, inputs to set, and
// how long.
type switchRequest struct {
	name     string
	inputs   map[string]any
	duration time.Duration
}

// transitionChainLocked returns the chain of the transition called name,
// made on first use, with inputs set (the others as last set, or the
// shader's defaults). Under applyMu.
func (s *Service) transitionChainLocked(name string, inputs map[string]any) (*compositor.LayerChain, error) {
	in, ok := s.passes.reg.Lookup(name)
	if !ok || !in.Transition {
		return nil, fmt.Errorf("no transition %q (the transitions: %s)", name, strings.Join(s.transitionNames(), ", "))
	}
	c := s.scenes.transitions[name]
	if c == nil {
		pass, err := s.passes.reg.New(name)
		if err != nil {
			return nil, err
		}
		if c, err = s.pl.NewTransition(name, pass); err != nil {
			return nil, err
		}
		if s.scenes.transitions == nil {
			s.scenes.transitions = map[string]*compositor.LayerChain{}
		}
		s.scenes.transitions[name] = c
	}
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		if k == isf.InputProgress {
			return nil, fmt.Errorf("transition %q: progress is the transition's own", name)
		}
		if err := c.SetUniform(name, k, inputs[k]); err != nil {
			return nil, fmt.Errorf("transition %q: %w", name, err)
		}
	}
	return c, nil
}

// transitionNames lists the transitions the registry has, by name.
func (s *Service) transitionNames() []string {
	out := []string{}
	for _, in := range s.passes.reg.List() {
		if in.Transition {
			out = append(out, in.Name)
		}
	}
	sort.Strings(out)
	return out
}

// activateNth puts the n-th scene (from 1, in name order) on air: the
// preview window's digit keys.
func (s *Service) activateNth(n int) {
	if s.scenes == nil {
		return
	}
	names := slices.Sorted(maps.Keys(s.scenes.cur.Load().desc.Scenes))
	if n < 1 || n > len(names) {
		return
	}
	if s.switchProgram(names[n-1], nil) == nil {
		s.log.Info("preview: scene activated", "program", names[n-1])
	}
}

// ActivateRequest is the body of POST /api/scenes/{name}/activate (it may
// be empty: a cut).
type ActivateRequest struct {
	// Transition names a transition (GET /api/scenes "transitions"); empty
	// or "cut" for a cut.
	Transition string `json:"transition"`
	// Duration is the transition's, in seconds (0: 1 s; at most 60).
	Duration float64 `json:"duration"`
	// Inputs set the transition's own inputs (a wipe's angle) from this
	// switch on.
	Inputs map[string]any `json:"inputs,omitempty"`
}

// defaultTransition is a transition's duration when none is asked.
const defaultTransition = time.Second

// apiActivate is POST /api/scenes/{name}/activate: the scene goes on air.
// Only a cut exists yet; a transition is refused by name (422) rather than
// cut without saying so.
func (s *Service) apiActivate(w http.ResponseWriter, r *http.Request) {
	name, ok := s.scenesRoute(w, r, "/api/scenes/", "/activate")
	if !ok {
		return
	}
	var req ActivateRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			jsonError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
	}
	if math.IsNaN(req.Duration) || req.Duration < 0 || req.Duration > 60 {
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("duration %g: want 0 to 60 seconds", req.Duration))
		return
	}
	var tr *switchRequest
	if req.Transition != "" && !strings.EqualFold(req.Transition, "cut") {
		d := time.Duration(req.Duration * float64(time.Second))
		if d == 0 {
			d = defaultTransition
		}
		tr = &switchRequest{name: req.Transition, inputs: req.Inputs, duration: d}
	} else if len(req.Inputs) > 0 {
		jsonError(w, http.StatusUnprocessableEntity, "inputs: a cut has none")
		return
	}
	if err := s.switchProgram(name, tr); err != nil {
		jsonError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.log.Info("scene activated", "program", name, "transition", req.Transition)
	writeJSON(w, http.StatusOK, map[string]string{"program": name})
}
