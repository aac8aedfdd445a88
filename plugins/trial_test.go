package plugins

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/shadertest"
	"github.com/shadercast/shadercast/trial"
)

// TestTrialBeforeJoining: with Options.Trial set, a plugin is tried in a
// child process before it joins a pipeline: one that never finishes a
// frame is refused when attached and when a reload brings it, with the
// error at its file, and the previous version keeps running; the trial
// sees the source as read and the values the pass starts with.
func TestTrialBeforeJoining(t *testing.T) {
	dir := t.TempDir()
	tint := filepath.Join(dir, "tint.fs")
	loop := filepath.Join(dir, "loop.fs")
	writeFile(t, tint, constShader("0.25", ""))
	writeFile(t, loop, shadertest.Endless)
	var tried atomic.Int32
	var lastGain atomic.Value
	r, err := Open(Options{Dirs: []string{dir}, Builtins: true, Trial: func(s trial.Shader) error {
		tried.Add(1)
		if g, ok := s.Inputs["gain"]; ok {
			lastGain.Store(g)
		}
		_, err := trial.Run(context.Background(), s, trial.Options{Deadline: time.Second, Width: 320, Height: 180})
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := collect(r)
	pl := rgbaPipeline(t)
	b, err := r.Attach(pl, []string{"invert", "tint"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := tried.Load(); n != 1 {
		t.Errorf("%d trials for one plugin and one built-in", n)
	}
	t0 := time.Now()
	lb, err := r.Attach(pl, []string{"loop"})
	if lb != nil {
		defer lb.Close()
	}
	if err == nil || !strings.HasPrefix(err.Error(), loop+": did not finish a frame in 1s") {
		t.Fatalf("attaching the endless shader: %v", err)
	}
	t.Logf("refused after %v: %v", time.Since(t0).Round(time.Millisecond), err)
	if got := chain(pl); len(got) != 2 {
		t.Errorf("chain after the refusal: %v", got)
	}
	if info, _ := r.Lookup("loop"); !strings.Contains(info.LastError, "did not finish a frame") {
		t.Errorf("LastError %q", info.LastError)
	}

	if err := pl.SetUniform("tint", "gain", 2.0); err != nil {
		t.Fatal(err)
	}
	var seen levelSet
	level := frameLoopSeen(t, pl, &seen)
	waitFor(t, "first output", 5*time.Second, func() bool { return level.Load() == 128 })
	// A reload that brings an endless loop is refused; the old one runs.
	writeFile(t, tint, shadertest.Endless)
	waitFor(t, "trial refusal event", 10*time.Second, func() bool { return events.find(Error, "tint", tint+": did not finish a frame") }, events)
	if g := lastGain.Load(); g == nil || fmt.Sprint(g) != "2" {
		t.Errorf("the reload was tried with gain %v, want the 2 set", g)
	}
	for range 5 {
		if l := level.Load(); l != 128 {
			t.Fatalf("output after a refused reload = %d, want the old shader's 128", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	writeFile(t, tint, constShader("0.375", ""))
	waitFor(t, "fixed shader live", 10*time.Second, func() bool { return level.Load() == 191 })
}
