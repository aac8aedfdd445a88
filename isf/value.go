package isf

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Components returns how many numbers a value of the input's type has (0
// for image inputs).
func (in *Input) Components() int {
	switch in.Type {
	case TypeFloat, TypeBool, TypeLong, TypeEvent:
		return 1
	case TypePoint2D:
		return 2
	case TypeColor:
		return 4
	}
	return 0
}

// Check validates a value of the right number of components: clamped to
// MIN/MAX (and colors to 0–1), a long restricted to its VALUES, bools to
// 0 or 1. It returns the value to use.
func (in *Input) Check(v Value) (Value, error) {
	n := in.Components()
	if n == 0 {
		return nil, fmt.Errorf("input %q is an image: set it by file name", in.Name)
	}
	if len(v) != n {
		return nil, fmt.Errorf("input %q (%s) takes %d number(s), not %d", in.Name, in.Type, n, len(v))
	}
	out := slices.Clone(v)
	for i, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("input %q: %v is not a finite number", in.Name, x)
		}
		if in.Min != nil {
			x = math.Max(x, in.Min[i])
		}
		if in.Max != nil {
			x = math.Min(x, in.Max[i])
		}
		if in.Type == TypeColor {
			x = math.Max(0, math.Min(1, x))
		}
		out[i] = x
	}
	switch in.Type {
	case TypeBool, TypeEvent:
		out[0] = b2f(out[0] != 0)
	case TypeLong:
		if !isLong(out[0]) {
			return nil, fmt.Errorf("input %q (long) takes an integer within ±%d, not %v", in.Name, math.MaxInt32, v[0])
		}
		if len(in.Values) > 0 && !slices.Contains(in.Values, int(out[0])) {
			return nil, fmt.Errorf("input %q takes one of %v, not %v", in.Name, in.Values, v[0])
		}
	}
	return out, nil
}

// Coerce converts a Go value, as a program or decoded JSON gives it, to
// the input's Value and checks it: float32/float64/ints for float and
// long (a long also accepts one of its LABELS), bool for bool and event
// (a number is accepted too), [2]float32, [2]float64, []float32,
// []float64 or []any for point2D and color (color also "#rrggbb[aa]";
// three components get alpha 1).
func (in *Input) Coerce(x any) (Value, error) {
	n := in.Components()
	if n == 0 {
		return nil, fmt.Errorf("input %q is an image: set it by file name", in.Name)
	}
	var v Value
	switch x := x.(type) {
	case float64:
		v = Value{x}
	case float32:
		v = Value{float64(x)}
	case int:
		v = Value{float64(x)}
	case int32:
		v = Value{float64(x)}
	case int64:
		v = Value{float64(x)}
	case bool:
		if in.Type != TypeBool && in.Type != TypeEvent {
			return nil, fmt.Errorf("input %q is %s, not bool", in.Name, in.Type)
		}
		v = Value{b2f(x)}
	case string:
		switch {
		case in.Type == TypeColor:
			c, err := hexColor(x)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", in.Name, err)
			}
			v = c
		case in.Type == TypeLong && len(in.Labels) > 0:
			i := slices.Index(in.Labels, x)
			if i < 0 {
				return nil, fmt.Errorf("input %q takes one of %s, not %q", in.Name, strings.Join(in.Labels, ", "), x)
			}
			v = Value{float64(in.Values[i])}
		default:
			return nil, fmt.Errorf("input %q is %s, not a string", in.Name, in.Type)
		}
	case [2]float32:
		v = Value{float64(x[0]), float64(x[1])}
	case [3]float32:
		v = Value{float64(x[0]), float64(x[1]), float64(x[2])}
	case [4]float32:
		v = Value{float64(x[0]), float64(x[1]), float64(x[2]), float64(x[3])}
	case [2]float64:
		v = x[:]
	case [4]float64:
		v = x[:]
	case []float32:
		for _, f := range x {
			v = append(v, float64(f))
		}
	case []float64:
		v = slices.Clone(x)
	case Value:
		v = slices.Clone(x)
	case []any:
		for i, e := range x {
			f, ok := e.(float64)
			if !ok {
				return nil, fmt.Errorf("input %q: component %d is %T, not a number", in.Name, i, e)
			}
			v = append(v, f)
		}
	default:
		return nil, fmt.Errorf("input %q (%s): unsupported value type %T", in.Name, in.Type, x)
	}
	if n == 4 && len(v) == 3 {
		v = append(v, 1)
	}
	if len(v) != n {
		return nil, fmt.Errorf("input %q (%s) takes %d number(s), not %d", in.Name, in.Type, n, len(v))
	}
	return in.Check(v)
}

// Go returns v as a plain Go value for JSON listings: float64 for float,
// int for long, bool for bool and event, []float64 for point2D and color;
// nil for nil.
func (in *Input) Go(v Value) any {
	if v == nil {
		return nil
	}
	switch in.Type {
	case TypeFloat:
		return v[0]
	case TypeLong:
		return int(v[0])
	case TypeBool, TypeEvent:
		return v[0] != 0
	}
	return []float64(slices.Clone(v))
}
