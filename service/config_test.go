package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Input = "movie.mp4" }, "unknown --input"},
		{func(c *Config) { c.Listen = "8080" }, "--listen"},
		{func(c *Config) { c.FPS = 0 }, "--fps"},
		{func(c *Config) { c.Width = 8 }, "size"},
		{func(c *Config) { c.Input, c.Loop = "-", true }, "stdin"},
		{func(c *Config) { c.Record = []string{"out.mkv"} }, "--record"},
		{func(c *Config) { c.StuckExit = c.FrameDeadline }, "--stuck-exit"},
		{func(c *Config) { c.ShaderDeadline = -1 }, "negative"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error about %q, got %v", tc.want, err)
		}
	}
	for in, kind := range map[string]string{"testsrc": "testsrc", "whip": "whip", "-": "y4m", "a.Y4M": "y4m", "b.jpeg": "image", "c.png": "image"} {
		c := DefaultConfig()
		c.Input = in
		if k, err := c.InputKind(); err != nil || k != kind {
			t.Errorf("%s: kind %q, %v; want %q", in, k, err, kind)
		}
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"input": "clip.y4m", "loop": true, "passes": ["vignette"], "shutdownTimeout": "3s"}`), 0o644)
	c := DefaultConfig()
	if err := LoadConfigFile(good, &c); err != nil {
		t.Fatal(err)
	}
	if c.Input != "clip.y4m" || !c.Loop || len(c.Passes) != 1 || time.Duration(c.ShutdownTimeout) != 3*time.Second || c.Width != 1280 {
		t.Errorf("loaded %+v", c)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"inptu": "x"}`), 0o644)
	if err := LoadConfigFile(bad, &c); err == nil || !strings.Contains(err.Error(), "inptu") {
		t.Errorf("a misspelt key must be an error naming it: %v", err)
	}
	// Secrets are never read from the file.
	sec := filepath.Join(dir, "secret.json")
	for _, key := range []string{"Token", "ViewerToken", "PublishToken", "ControlToken", "viewerToken", "publishToken", "controlToken"} {
		os.WriteFile(sec, []byte(`{"`+key+`": "x"}`), 0o644)
		c = DefaultConfig()
		if err := LoadConfigFile(sec, &c); err == nil && (c.ViewerToken != "" || c.PublishToken != "" || c.ControlToken != "") {
			t.Errorf("token read from the config file's %q", key)
		}
	}
}
