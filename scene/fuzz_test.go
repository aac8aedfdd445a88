package scene

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParse: no text makes Parse panic or hang, every refusal is an
// *Error or Errors, and what it accepts marshals to text it accepts again
// as the same description.
func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte(`{"sources": {"s": {"type": "scene", "scene": "a"}}, "scenes": {"a": {"layers": [{"source": "s", "rect": [0.1, 0.1, 0.5, 0.5], "crop": [1, 2, 3, 4]}]}}, "program": "a"}`))
	f.Add([]byte(`{"canvas": {"width": 16, "height": 16, "fps": 1}, "scenes": {"a": {"layers": []}}, "program": "a"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, Checks{})
		if err != nil {
			switch err.(type) {
			case *Error, Errors:
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		d2, err := Parse(b, Checks{})
		if err != nil {
			t.Fatalf("accepted %q, refused its own output %s: %v", data, b, err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed %q:\n%+v\n%+v", data, d, d2)
		}
	})
}
