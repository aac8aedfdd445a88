// Package mergepatch applies JSON merge patches (RFC 7396): a patch is a
// JSON document of the changes, where an object merges into the target's
// object key by key, null removes a key, and anything else (an array
// included) replaces what was there.
package mergepatch

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MaxDepth bounds how deeply a patch may nest objects: deeper is an error
// rather than a deep recursion on what a client sent.
const MaxDepth = 64

// Apply returns doc with patch applied. Both must be JSON; doc's objects
// come back with their keys sorted (encoding/json's order).
func Apply(doc, patch []byte) ([]byte, error) {
	var d, p any
	if err := decode(doc, &d); err != nil {
		return nil, fmt.Errorf("mergepatch: document: %w", err)
	}
	if err := decode(patch, &p); err != nil {
		return nil, fmt.Errorf("mergepatch: patch: %w", err)
	}
	out, err := merge(d, p, 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// decode reads one JSON value, numbers kept as written.
func decode(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

func merge(target, patch any, depth int) (any, error) {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch, nil // a value or an array replaces the target
	}
	if depth >= MaxDepth {
		return nil, fmt.Errorf("mergepatch: objects nested deeper than %d", MaxDepth)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{} // an object patch over a non-object starts afresh
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		m, err := merge(t[k], v, depth+1)
		if err != nil {
			return nil, err
		}
		t[k] = m
	}
	return t, nil
}
