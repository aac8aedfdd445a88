package plugins

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/shaders"
)

// constShader is an ISF filter whose output is grey level*gain; its body
// starts on line 8, so the line of a planted error is known.
func constShader(level string, extra string) string {
	return `/*{
	"DESCRIPTION": "test",
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "gain", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0}
	]
}*/
void main() {
	gl_FragColor = vec4(vec3(` + level + `) * gain, 1.0);` + extra + `
}
`
}

// writeFile replaces path the way editors do: a new file renamed over it.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool, evs ...*eventLog) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			for _, l := range evs {
				l.mu.Lock()
				for _, ev := range l.evs {
					t.Logf("event %v %s %s %v", ev.Kind, ev.Name, ev.File, ev.Err)
				}
				l.mu.Unlock()
			}
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// syncBuffer is a log sink safe for the registry's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventLog collects a registry's events.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func collect(r *Registry) *eventLog {
	l := &eventLog{}
	go func() {
		for ev := range r.Events() {
			l.mu.Lock()
			l.evs = append(l.evs, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) find(kind EventKind, name string, contains string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if ev.Kind == kind && ev.Name == name && (contains == "" || ev.Err != nil && strings.Contains(ev.Err.Error(), contains)) {
			return true
		}
	}
	return false
}

func (l *eventLog) count(kind EventKind, name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.evs {
		if ev.Kind == kind && ev.Name == name {
			n++
		}
	}
	return n
}

// frameLoop feeds pl frames until the test ends and keeps the red level
// of the latest output's centre pixel.
func frameLoop(t *testing.T, pl *compositor.Pipeline) *atomic.Int32 {
	return frameLoopSeen(t, pl, nil)
}

// frameLoopSeen is frameLoop that also records every level seen in seen.
func frameLoopSeen(t *testing.T, pl *compositor.Pipeline, seen *levelSet) *atomic.Int32 {
	var level atomic.Int32
	level.Store(-1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	img := noise(64, 36, 3)
	go func() {
		defer close(done)
		for i := int64(0); ctx.Err() == nil; i++ {
			fr, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 64, CodedHeight: 36, Timestamp: i * 33333})
			if err != nil {
				panic(err)
			}
			var out compositor.Output
			err = pl.Process(ctx, fr, &out)
			fr.Close()
			if err != nil {
				continue
			}
			res := image.NewRGBA(image.Rect(0, 0, 64, 36))
			out.Frame.CopyTo(res.Pix, nil)
			out.Frame.Close()
			l := res.Pix[res.PixOffset(32, 18)]
			level.Store(int32(l))
			if seen != nil {
				seen.add(l)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &level
}

// levelSet is the set of output levels a frame loop has seen.
type levelSet struct {
	mu   sync.Mutex
	seen map[uint8]bool
}

func (s *levelSet) add(l uint8) {
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[uint8]bool{}
	}
	s.seen[l] = true
	s.mu.Unlock()
}

func (s *levelSet) has(l uint8) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[l]
}

func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	tint := filepath.Join(dir, "tint.fs")
	writeFile(t, tint, constShader("0.25", ""))
	var logs syncBuffer
	r, err := Open(Options{Dirs: []string{dir}, Builtins: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := collect(r)
	pl := rgbaPipeline(t)
	b, err := r.Attach(pl, []string{"invert", "tint", "later"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := pl.SetEnabled("invert", false); err != nil {
		t.Fatal(err)
	}
	if err := pl.SetUniform("tint", "gain", 2.0); err != nil {
		t.Fatal(err)
	}
	var seen levelSet
	level := frameLoopSeen(t, pl, &seen)
	waitFor(t, "first output", 5*time.Second, func() bool { return level.Load() == 128 })

	// Edit: the new shader runs with the gain the user had set.
	writeFile(t, tint, constShader("0.375", ""))
	took := waitFor(t, "edited shader live", 3*time.Second, func() bool { return level.Load() == 191 })
	t.Logf("edit live after %v", took)
	if seen.has(96) { // 0.375 at the default gain of 1
		t.Error("a frame rendered with the default gain during the reload: input values were not carried over")
	}
	if took > time.Second {
		t.Errorf("edit took %v to go live, want < 1 s", took)
	}
	if got := chain(pl); !slices.Equal(got, []string{"invert:off", "tint:on"}) {
		t.Errorf("chain after reload = %v", got)
	}

	// Break it on line 10: the old shader keeps running, the error names
	// the plugin's file and line, in the event, List and the log.
	writeFile(t, tint, constShader("0.5", "\n\tnot glsl;"))
	want := tint + ":10"
	waitFor(t, "compile error event", 3*time.Second, func() bool { return events.find(Error, "tint", want) }, events)
	info, _ := r.Lookup("tint")
	if !strings.Contains(info.LastError, want) {
		t.Errorf("LastError = %q, want it to name %s", info.LastError, want)
	}
	if !strings.Contains(logs.String(), "tint.fs:10") {
		t.Errorf("log does not name tint.fs:10:\n%s", logs.String())
	}
	for range 5 { // frames go on with the old shader
		if l := level.Load(); l != 191 {
			t.Fatalf("output after a broken edit = %d, want the old shader's 191", l)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A broken header is reported with its line too.
	writeFile(t, tint, strings.Replace(constShader("0.5", ""), `"DEFAULT": 1.0,`, `"DEFAULT": 1.0,,`, 1))
	waitFor(t, "header error event", 3*time.Second, func() bool { return events.find(Error, "tint", tint+":5") })

	// Fix it: recovers, error cleared, gain still kept.
	writeFile(t, tint, constShader("0.125", ""))
	waitFor(t, "fixed shader live", 3*time.Second, func() bool { return level.Load() == 64 })
	waitFor(t, "error cleared", time.Second, func() bool { in, _ := r.Lookup("tint"); return in.LastError == "" })

	// Delete: the pass leaves the pipeline and the list.
	if err := os.Remove(tint); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pass removed", 3*time.Second, func() bool { return !slices.Contains(chain(pl), "tint:on") })
	if _, ok := r.Lookup("tint"); ok {
		t.Error("removed shader still listed")
	}
	waitFor(t, "removed event", time.Second, func() bool { return events.find(Removed, "tint", "") })

	// Create: a wanted name appears in the pipeline at its place, an
	// unwanted one is only listed.
	writeFile(t, filepath.Join(dir, "later.fs"), constShader("0.5", ""))
	writeFile(t, filepath.Join(dir, "other.fs"), constShader("0.5", ""))
	waitFor(t, "new shaders listed", 3*time.Second, func() bool {
		_, a := r.Lookup("later")
		_, b := r.Lookup("other")
		return a && b
	})
	waitFor(t, "wanted shader added", 3*time.Second, func() bool { return slices.Equal(chain(pl), []string{"invert:off", "later:on"}) })
	writeFile(t, tint, constShader("0.5", ""))
	waitFor(t, "tint back in its place", 3*time.Second, func() bool {
		return slices.Equal(chain(pl), []string{"invert:off", "tint:on", "later:on"})
	})
}

func chain(pl *compositor.Pipeline) []string {
	var out []string
	for _, p := range pl.Passes() {
		out = append(out, fmt.Sprintf("%s:%s", p.Name, map[bool]string{true: "on", false: "off"}[p.Enabled]))
	}
	return out
}

// TestBurstReloadsOnce writes a file 20 times in a row, as an editor's
// save-plus-format-plus-autosave might: one reload, the last content.
func TestBurstReloadsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "burst.fs")
	writeFile(t, path, constShader("0.01", ""))
	r, err := Open(Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := collect(r)
	pl := rgbaPipeline(t)
	if _, err := r.Attach(pl, []string{"burst"}); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Lookup("burst")
	for i := 1; i <= 20; i++ {
		if err := os.WriteFile(path, []byte(constShader(fmt.Sprintf("%d.0/20.0", i), "")), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "reload", 3*time.Second, func() bool { return events.count(Changed, "burst") > 0 })
	time.Sleep(400 * time.Millisecond) // longer than the debounce: a second reload would show
	after, _ := r.Lookup("burst")
	if n := after.Loads - before.Loads; n != 1 || events.count(Changed, "burst") != 1 {
		t.Fatalf("20 writes gave %d loads and %d change events, want 1", n, events.count(Changed, "burst"))
	}
	if got := process(t, pl, noise(8, 8, 1), 0).Pix[0]; got != 255 {
		t.Errorf("output after the burst = %d, want the last version's 255", got)
	}
}

// TestDependencies: a change of the .vs beside a shader reloads it.
func TestVertexShaderChangeReloads(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "v.fs"), constShader("0.5", ""))
	r, err := Open(Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := collect(r)
	writeFile(t, filepath.Join(dir, "v.vs"), "void main() { isf_vertShaderInit(); }\n")
	waitFor(t, "reload on .vs change", 3*time.Second, func() bool { return events.count(Changed, "v") > 0 })
	// Editor temporaries are not shaders and trigger nothing.
	for _, tmp := range []string{"4913", ".v.fs.swp", "v.fs~", ".#v.fs"} {
		if err := os.WriteFile(filepath.Join(dir, tmp), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(r.List()); n != 1 {
		t.Errorf("list has %d passes after editor temporaries, want 1: %+v", n, r.List())
	}
}

func TestNamesAndCollisions(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(d1, "vignette.fs"), constShader("0.5", "")) // shadows the built-in filter
	writeFile(t, filepath.Join(d1, "barcode.fs"), constShader("0.5", ""))  // reserved: ignored
	writeFile(t, filepath.Join(d1, "dup.fs"), constShader("0.5", ""))
	writeFile(t, filepath.Join(d2, "dup.fs"), constShader("0.25", "")) // hidden by d1
	writeFile(t, filepath.Join(d2, "bad.fs"), "void main() {}\n")      // no header
	var logs syncBuffer
	r, err := Open(Options{Dirs: []string{d1, d2}, Builtins: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, file := range map[string]string{"vignette": filepath.Join(d1, "vignette.fs"), "dup": filepath.Join(d1, "dup.fs"), "barcode": ""} {
		in, ok := r.Lookup(name)
		if !ok || in.File != file {
			t.Errorf("%s comes from %q, want %q", name, in.File, file)
		}
	}
	if !strings.Contains(logs.String(), "reserved") || !strings.Contains(logs.String(), "hidden") {
		t.Errorf("collisions not logged:\n%s", logs.String())
	}
	if in, _ := r.Lookup("bad"); !strings.Contains(in.LastError, "bad.fs:1") {
		t.Errorf("bad.fs error = %q", in.LastError)
	}
	for _, name := range []string{"../etc/passwd", "bad", "/etc/passwd", filepath.Join(d1, "dup.fs"), "missing"} {
		if _, err := r.New(name); err == nil {
			t.Errorf("New(%q) succeeded", name)
		}
	}
	for _, name := range []string{"barcode", "identity", "invert", "sharpen", "dup", "vignette"} {
		p, err := r.New(name)
		if err != nil || p.Name() != name {
			t.Errorf("New(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := Open(Options{Dirs: []string{filepath.Join(d1, "nope")}}); err == nil {
		t.Error("a missing folder is not an error")
	}
}

// TestCloseLeavesNothing: Close ends every goroutine the registry started.
func TestCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.fs"), constShader("0.5", ""))
		r, err := Open(Options{Dirs: []string{dir}, Builtins: true})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "a.fs"), constShader("0.25", "")) // a pending debounce timer
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-r.Events(); ok {
			// drained queued events; the channel must end closed
			for range r.Events() {
			}
		}
	}
	waitFor(t, "goroutines gone", 3*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

func writePNG(t *testing.T, path string, c [4]uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:i+4], c[:])
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.String())
}

// TestImportedImageChangeReloads: IMPORTED images (here in a subfolder)
// are dependencies; an import that leaves the folder is refused.
func TestImportedImageChangeReloads(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "img"), 0o755)
	writePNG(t, filepath.Join(dir, "img", "pic.png"), [4]uint8{255, 0, 0, 255})
	writeFile(t, filepath.Join(dir, "show.fs"), `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
	"IMPORTED": {"pic": {"PATH": "img/pic.png"}}
}*/
void main() { gl_FragColor = IMG_NORM_PIXEL(pic, vec2(0.5)); }
`)
	writeFile(t, filepath.Join(dir, "escape.fs"), `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
	"IMPORTED": {"pic": {"PATH": "../pic.png"}}
}*/
void main() { gl_FragColor = IMG_NORM_PIXEL(pic, vec2(0.5)); }
`)
	r, err := Open(Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if in, _ := r.Lookup("escape"); !strings.Contains(in.LastError, "../pic.png") {
		t.Errorf("an IMPORTED path leaving the folder gives %q", in.LastError)
	}
	if _, err := r.New("escape"); err == nil {
		t.Error("New of a shader importing from outside its folder succeeded")
	}
	pl := rgbaPipeline(t)
	if _, err := r.Attach(pl, []string{"show"}); err != nil {
		t.Fatal(err)
	}
	px := func() []uint8 { return process(t, pl, noise(8, 8, 1), 0).Pix[:4] }
	if got := px(); !bytes.Equal(got, []uint8{255, 0, 0, 255}) {
		t.Fatalf("imported red image renders %v", got)
	}
	writePNG(t, filepath.Join(dir, "img", "pic.png"), [4]uint8{0, 0, 255, 255})
	waitFor(t, "new image live", 3*time.Second, func() bool { return bytes.Equal(px(), []uint8{0, 0, 255, 255}) })
}

// TestShaderToyFile: a .glsl in a shader folder is a ShaderToy pass.
func TestShaderToyFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ramp.glsl"), `void mainImage(out vec4 fragColor, in vec2 fragCoord) {
	// red ramps left to right, green bottom to top
	fragColor = vec4(fragCoord.x / iResolution.x, fragCoord.y / iResolution.y, 0.0, 1.0);
}
`)
	r, err := Open(Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in, ok := r.Lookup("ramp")
	if !ok || in.Kind != "shadertoy" || in.LastError != "" {
		t.Fatalf("ramp.glsl listed as %+v", in)
	}
	p, err := r.New("ramp")
	if err != nil {
		t.Fatal(err)
	}
	got := process(t, rgbaPipeline(t, p), noise(64, 32, 1), 0)
	want := referenceSize(64, 32, func(u, v float64) [4]float64 { return [4]float64{u, v, 0, 1} })
	compare(t, "ramp", got, want, 1, 0)
}

// TestReloadsLeakNoGLObjects reloads a two-pass shader with a target many
// times (and breaks it once): the device's GL objects stay as they were.
func TestReloadsLeakNoGLObjects(t *testing.T) {
	src, err := fs.ReadFile(shaders.Filters(), "blur.fs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "soft.fs")
	writeFile(t, path, string(src))
	r, err := Open(Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := collect(r)
	pl := rgbaPipeline(t)
	if _, err := r.Attach(pl, []string{"soft"}); err != nil {
		t.Fatal(err)
	}
	img := noise(64, 36, 1)
	process(t, pl, img, 0)
	before := fmt.Sprint(testDevice.Objects())
	for i := 1; i <= 6; i++ {
		text := string(src) + fmt.Sprintf("\n// edit %d\n", i)
		if i == 3 {
			text += "broken"
		}
		writeFile(t, path, text)
		waitFor(t, "reload", 3*time.Second, func() bool { in, _ := r.Lookup("soft"); return in.Loads == i+1 })
		if i == 3 {
			waitFor(t, "error", 3*time.Second, func() bool { return events.count(Error, "soft") > 0 })
		}
		process(t, pl, img, int64(i))
	}
	waitFor(t, "GL objects back to their count", 2*time.Second, func() bool {
		process(t, pl, img, 99)
		return fmt.Sprint(testDevice.Objects()) == before
	})
}
