package scene

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxSize bounds a description's text: real ones are a few kilobytes.
const MaxSize = 1 << 20

// Parse reads a description (a scenes file, or a PUT /api/scenes body),
// fills in its defaults and validates it with Validate(c). Unknown keys
// are errors, so that a typo does not silently leave a setting at its
// default. A problem is reported with its line; all the problems Validate
// finds are reported at once (as Errors).
func Parse(data []byte, c Checks) (*Description, error) {
	if len(data) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	var w wireDescription
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, decodeError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(data, dec.InputOffset())
		return nil, &Error{Line: line, Column: col, Msg: "data after the description"}
	}
	d, errs := w.normalize()
	errs = append(errs, Validate(d, c)...)
	if len(errs) > 0 {
		placeErrors(data, errs)
		return nil, errs
	}
	return d, nil
}

// decodeError places a decoding error: syntax and type errors carry an
// offset, an unknown key only its name, found again in the text.
func decodeError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return &Error{Line: line, Column: col, Msg: "not JSON: " + syn.Error()}
	case errors.As(err, &typ):
		// Offset is where the value ends; its path is that of the last
		// value starting before it (Field leaves out map keys and indices).
		e := &Error{Path: typ.Field, Msg: fmt.Sprintf("want %s, not %s", typ.Type, typ.Value)}
		best := int64(-1)
		for path, off := range positions(data) {
			if off < typ.Offset && off > best {
				best, e.Path = off, path
			}
		}
		e.Line, e.Column = lineCol(data, max(best, 0))
		return e
	case errors.Is(err, io.EOF):
		return &Error{Msg: "empty"}
	}
	msg := err.Error()
	if key, ok := strings.CutPrefix(msg, `json: unknown field "`); ok {
		key = strings.TrimSuffix(key, `"`)
		e := &Error{Msg: fmt.Sprintf("unknown key %q", key)}
		for path, off := range positions(data) {
			if path == key || strings.HasSuffix(path, "."+key) {
				if line, col := lineCol(data, off); e.Line == 0 || line < e.Line {
					e.Path, e.Line, e.Column = path, line, col
				}
			}
		}
		return e
	}
	return &Error{Msg: strings.TrimPrefix(msg, "json: ")}
}

// placeErrors gives each error the line of the value at its path, or of
// the nearest enclosing one the text has.
func placeErrors(data []byte, errs Errors) {
	pos := positions(data)
	lines := lineStarts(data)
	for _, e := range errs {
		for p := e.Path; p != ""; p = parent(p) {
			if off, ok := pos[p]; ok {
				e.Line, e.Column = lines.at(off)
				break
			}
		}
	}
}

// parent is the path of the value that holds path's.
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return ""
}

// positions maps the JSON path of every value in data to the offset where
// it starts. It walks tokens, so it sees the text as written; invalid
// JSON ends the walk early.
func positions(data []byte) map[string]int64 {
	pos := map[string]int64{}
	dec := json.NewDecoder(bytes.NewReader(data))
	// A frame is an object or array being read: its path, whether it is
	// an object, the key whose value comes next, the next array index.
	type frame struct {
		path  string
		obj   bool
		key   string
		index int
	}
	var stack []frame
	expectKey := false
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return pos
		}
		// The token starts after any space or separator.
		for start < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[start]) >= 0 {
			start++
		}
		if expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				expectKey = len(stack) > 0 && stack[len(stack)-1].obj
				continue
			}
			if k, ok := tok.(string); ok {
				stack[len(stack)-1].key = k
			}
			expectKey = false
			continue
		}
		// A value: its path. Below maxPathDepth, values are not placed
		// on their own (a description's own structure is shallower):
		// building the paths of a deep array would be quadratic.
		path := ""
		deep := len(stack) > maxPathDepth
		if n := len(stack); n > 0 {
			f := &stack[n-1]
			if !f.obj {
				if d, ok := tok.(json.Delim); ok && d == ']' {
					stack = stack[:n-1]
					expectKey = len(stack) > 0 && stack[len(stack)-1].obj
					continue
				}
			}
			switch {
			case deep:
				path = f.path
			case f.obj:
				path = join(f.path, f.key)
			default:
				path = f.path + "[" + strconv.Itoa(f.index) + "]"
				f.index++
			}
		}
		if !deep {
			pos[path] = start
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{path: path, obj: true})
			expectKey = true
		case json.Delim('['):
			stack = append(stack, frame{path: path})
		default:
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		}
	}
}

// maxPathDepth is the deepest a value is placed by positions.
const maxPathDepth = 16

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
