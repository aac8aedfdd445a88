package service

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzPipelinePatch feeds PATCH /api/pipeline bodies through what the
// handler does before it touches the pipeline: decodePatch, the
// up-front check against a chain, and the decoding of every parameter
// value. Whatever check accepts must apply by names without an error
// (a refused request changes nothing).
func FuzzPipelinePatch(f *testing.F) {
	for _, s := range []string{
		`{"add":["invert"]}`, `{"add":["no-such-pass"]}`, `{"add":["vignette"]}`,
		`{"order":["barcode","nope"]}`, `{"order":["barcode","vignette","invert"]}`,
		`{"passes":{"barcode":{"enabled":false}}}`,
		`{"passes":{"invert":{"enabled":false},"vignette":{"enabled":false}}}`,
		`{"passes":{"vignette":{"inputs":{"amount":0}}}}`,
		`{"remove":["invert","vignette"]}`,
		`{"add": ["vignette"], "remove": ["invert"], "order": ["vignette", "barcode"], "passes": {"vignette": {"enabled": true, "inputs": {"amount": 0.8, "center": [0.5, 0.5], "color": [1, 0, 0, 1], "on": true}}}}`,
		`{"passes":{"barcode":{"inputs":{"x":{"deep":[[[[1]]]]}}}}}`,
		`{"add":["invert"]} {"add":["vignette"]}`, `{"inptu":[]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	chain := []string{"barcode", "invert"}
	available := map[string]bool{"invert": true, "vignette": true, "magnify": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePatch(strings.NewReader(string(body)))
		if err != nil {
			if !reflect.DeepEqual(p, PipelinePatch{}) {
				t.Fatalf("a refused body left a partial patch: %+v", p)
			}
			return
		}
		for _, pp := range p.Passes {
			for k, raw := range pp.Inputs {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("input %q: a value decodePatch accepted does not decode: %v", k, err)
				}
			}
		}
		if err := p.check(chain, func(n string) bool { return available[n] }); err != nil {
			return
		}
		// Apply by names, as applyPatch does, and require no surprise.
		have := slices.Clone(chain)
		for _, n := range p.Remove {
			i := slices.Index(have, n)
			if i < 0 {
				t.Fatalf("checked patch removes %q, not in %v", n, have)
			}
			have = slices.Delete(have, i, i+1)
		}
		for _, n := range p.Add {
			if slices.Contains(have, n) || !available[n] {
				t.Fatalf("checked patch adds %q to %v", n, have)
			}
			have = append(have, n)
		}
		if p.Order != nil {
			a, b := slices.Clone(p.Order), slices.Clone(have)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Fatalf("checked order %v is not a permutation of %v", p.Order, have)
			}
		}
		for n := range p.Passes {
			if !slices.Contains(have, n) {
				t.Fatalf("checked patch sets %q, not in %v", n, have)
			}
		}
	})
}

// FuzzConfigFile loads config files over the defaults and validates
// them. What Validate accepts must be usable as promised: the access
// policy builds, a non-loopback address has --insecure (a file holds no
// tokens), and the config survives a JSON round trip unchanged.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		`{"input": "clip.y4m", "loop": true, "passes": ["vignette"], "shutdownTimeout": "3s"}`,
		`{"input": "testsrc", "width": 640, "height": 360, "fps": 25, "bitrate": 800000, "maxViewers": 10}`,
		`{"listen": "127.0.0.2:9000", "corsOrigins": ["https://panel.example", "http://127.0.0.1:3000"], "allowedHosts": ["studio.lan", "proxy.lan:8443"], "maxEventClients": 4, "readTimeout": "2s", "idleTimeout": 30}`,
		`{"listen": "0.0.0.0:8080", "insecure": true}`,
		`{"listen": "0.0.0.0:8080"}`,
		`{"input": "whip", "record": ["out.ivf", "out.y4m"], "shaderDirs": ["shaders"], "udpPortMin": 50000, "udpPortMax": 50100, "nat1to1IPs": ["203.0.113.5"], "iceServers": ["stun:stun.example:3478"], "timecode": true}`,
		`{"input": "photo.jpg", "noBarcode": true, "barcodeAnalysis": 320, "preview": false, "saveDir": "/tmp"}`,
		`{"shutdownTimeout": 1e300}`, `{"readTimeout": -1}`, `{"corsOrigins": ["*"]}`, `{"Token": "x"}`,
	} {
		f.Add([]byte(s))
	}
	if b, err := json.Marshal(DefaultConfig()); err == nil {
		f.Add(b)
	}
	path := filepath.Join(f.TempDir(), "config.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Skip(err)
		}
		c := DefaultConfig()
		if err := LoadConfigFile(path, &c); err != nil {
			return
		}
		if c.ViewerToken != "" || c.PublishToken != "" || c.ControlToken != "" {
			t.Fatal("a token was read from the config file")
		}
		err := c.Validate()
		var nt *NoTokensError
		if errors.As(err, &nt) && (c.Insecure || loopbackListen(c.Listen)) {
			t.Fatalf("NoTokensError for %q with insecure=%v", c.Listen, c.Insecure)
		}
		if err != nil {
			return
		}
		if !c.Insecure && !loopbackListen(c.Listen) {
			t.Fatalf("valid without tokens on %q", c.Listen)
		}
		if _, err := newDoors(c, nil); err != nil {
			t.Fatalf("Validate accepted what newDoors refuses: %v", err)
		}
		srv := newHTTPServer(c, nil)
		if srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.WriteTimeout <= 0 {
			t.Fatalf("server limits %v %v %v", srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal a valid config: %v", err)
		}
		c2 := DefaultConfig()
		if err := parseConfig(b, &c2); err != nil {
			t.Fatalf("a valid config does not read back: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, c2)
		}
	})
}
