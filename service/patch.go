package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// decodePatch reads a PATCH /api/pipeline body: one JSON object, no
// unknown fields, nothing after it. The caller bounds the reader.
func decodePatch(r io.Reader) (PipelinePatch, error) {
	var p PipelinePatch
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return PipelinePatch{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return PipelinePatch{}, err
		}
		return PipelinePatch{}, errors.New("data after the JSON object")
	}
	return p, nil
}

// check is what applyPatch verifies before it changes anything, so that
// a request with a wrong name or an incomplete order changes nothing:
// chain is the current chain's pass names, canMake says whether a pass
// can be made by name.
func (p PipelinePatch) check(chain []string, canMake func(string) bool) error {
	have := map[string]bool{}
	for _, n := range chain {
		have[n] = true
	}
	for _, n := range p.Remove {
		if !have[n] {
			return fmt.Errorf("remove: no pass %q in the chain", n)
		}
		delete(have, n)
	}
	for _, n := range p.Add {
		if have[n] {
			return fmt.Errorf("add: pass %q is already in the chain", n)
		}
		if !canMake(n) {
			return fmt.Errorf("add: no pass named %q is available", n)
		}
		have[n] = true
	}
	if p.Order != nil {
		seen := map[string]bool{}
		for _, n := range p.Order {
			if !have[n] || seen[n] {
				return fmt.Errorf("order: %q is not a pass of the chain or is listed twice", n)
			}
			seen[n] = true
		}
		if len(seen) != len(have) {
			return fmt.Errorf("order must list all %d passes of the chain, got %d", len(have), len(seen))
		}
	}
	for n := range p.Passes {
		if !have[n] {
			return fmt.Errorf("passes: no pass %q in the chain", n)
		}
	}
	return nil
}
