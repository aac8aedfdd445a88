package mergepatch

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestApply runs the examples of RFC 7396, appendix A, and the limits.
func TestApply(t *testing.T) {
	for _, c := range []struct{ doc, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Numbers stay as written.
		{`{"x":0.1}`, `{"y":12345678901234567890}`, `{"x":0.1,"y":12345678901234567890}`},
	} {
		got, err := Apply([]byte(c.doc), []byte(c.patch))
		if err != nil || !sameJSON(t, string(got), c.want) {
			t.Errorf("%s + %s = %s, %v; want %s", c.doc, c.patch, got, err, c.want)
		}
	}
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	if _, err := Apply([]byte(`{}`), []byte(deep)); err == nil {
		t.Error("a patch nested past MaxDepth was applied")
	}
	for _, bad := range [][2]string{{`{`, `{}`}, {`{}`, `{"a":}`}, {`{}`, `{} {}`}} {
		if _, err := Apply([]byte(bad[0]), []byte(bad[1])); err == nil {
			t.Errorf("%s + %s: no error", bad[0], bad[1])
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// FuzzApply: any two inputs give a result or an error, never a panic, and
// a result is JSON.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1}}`), []byte(`{"a":{"b":null,"c":[1]}}`))
	f.Add([]byte(`[]`), []byte(`{"x":{"y":{"z":null}}}`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		out, err := Apply(doc, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("%s + %s = invalid JSON %s", doc, patch, out)
		}
	})
}
