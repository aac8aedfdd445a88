// Package plugins knows every pass shadercast can run — the built-ins and
// the ISF (.fs) and ShaderToy (.glsl) files in the configured shader
// folders — and keeps running pipelines in step with those folders: a saved
// file is recompiled and swapped in within a second, keeping the pass's
// input values, enabled state and position; a file that no longer compiles
// leaves the previous version running and its error (plugin file:line) is
// logged, sent as an Event and shown by List; a removed file removes its
// pass.
//
// Folders are watched (not files: editors save by renaming a new file over
// the old one) with fsnotify, non-recursively except for the subfolders
// holding a shader's IMPORTED images; a change of a shader's .vs or of an
// image it imports reloads it too. Bursts of writes to one file are
// coalesced (Options.Debounce), so an editor's multi-step save reloads
// once. Names given to the API are plain pass names looked up in the
// registry, never paths, so nothing outside the configured folders is ever
// read through it (package isf keeps IMPORTED paths inside them).
//
// The registry itself compiles nothing: parse and translation errors are
// found when a file loads, compile errors when a Binding swaps the pass
// into its pipeline; both end up in Info.LastError and as Error events.
package plugins

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/dropq"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/shaders"
	"github.com/shadercast/shadercast/trial"
)

// Options configures a Registry.
type Options struct {
	// Dirs are the shader folders, in priority order: a name found in an
	// earlier folder hides the same name in later ones and in the
	// built-in filters.
	Dirs []string
	// Builtins adds the built-in passes: barcode, identity, invert,
	// sharpen and the example filters of package shaders.
	Builtins bool
	// Logger receives loads, reloads and errors; nil discards them.
	Logger *slog.Logger
	// Debounce is how long a file must stay quiet before it is reloaded
	// (120 ms when zero): editors write a file in several steps.
	Debounce time.Duration
	// MaxImagePixels refuses IMPORTED images (and images set on image
	// inputs by file name) whose header declares more pixels; 0 means 64
	// Mpx (imagefile.DefaultMaxPixels).
	MaxImagePixels int64
	// Trial, when set, tries each plugin file's shader before it joins a
	// pipeline (Attach, and every reload of a pass in one), with the
	// input values it would start with; an error refuses it like a
	// compile error: reported, and the previous version keeps running.
	// Typically trial.Run in a child process with a deadline, so that a
	// shader that never finishes a frame cannot freeze the pipeline.
	// Built-in passes are not tried. It may block; reloads wait for it.
	Trial func(trial.Shader) error
}

// Info describes one known pass.
type Info struct {
	Name string `json:"name"`
	// File is the plugin file ("shaders/filters/NAME.fs" inside the
	// binary for built-in filters, empty for native built-ins).
	File    string `json:"file,omitempty"`
	Builtin bool   `json:"builtin"`
	// Kind is "isf", "shadertoy" or "native" (built-ins written in
	// plain GLSL or Go).
	Kind string `json:"kind"`
	// Transition: the shader follows ISF's transition protocol
	// (startImage, endImage, progress). It switches scenes
	// (POST /api/scenes/{name}/activate) and is no filter.
	Transition  bool    `json:"transition,omitempty"`
	Description string  `json:"description,omitempty"`
	Inputs      []Input `json:"inputs"`
	Passes      int     `json:"passes"`
	// LastError is why the current file does not load or compile; the
	// previous version (if any) is what New returns meanwhile.
	LastError string `json:"lastError,omitempty"`
	// Loads counts the times the file was (re)loaded.
	Loads int `json:"loads"`
}

// EventKind says what happened to a pass.
type EventKind int

const (
	Added EventKind = iota
	Changed
	Removed
	Error
)

func (k EventKind) String() string {
	switch k {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	case Error:
		return "error"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event reports a change of the registry. Err is set for Error.
type Event struct {
	Kind EventKind
	Name string
	File string
	Err  error
}

// eventQueue is the length of the Events channel; when nobody reads, the
// oldest events are dropped.
const eventQueue = 64

var errClosed = errors.New("plugins: registry closed")

// entry is the current source of one name.
type entry struct {
	name    string
	file    string
	dir     string // "" for built-ins
	base    string
	builtin bool
	native  func() compositor.Pass // native built-ins
	sh      *shader                // last version that parsed
	err     error
	// compileErr: err came from a pipeline, not from parsing.
	compileErr bool
	loads      int
}

// Registry knows every available pass and watches the shader folders.
type Registry struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	entries  map[string]*entry
	builtins map[string]*entry
	deps     map[string][]string // absolute dependency path -> names
	closed   bool

	events *dropq.Queue[Event]

	// bindMu serializes all work on attached pipelines.
	bindMu   sync.Mutex
	bindings []*Binding

	watcher *fsnotify.Watcher
	watched map[string]bool // absolute folders watched, mu held
	due     chan string
	timers  map[string]*time.Timer // by name; loop goroutine only
	done    chan struct{}
	wg      sync.WaitGroup
}

// Open scans the folders, loads every plugin in them and starts watching.
// A folder that does not exist is an error; a plugin that does not load is
// not (it is listed with its error).
func Open(opts Options) (*Registry, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = 120 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Registry{
		opts:     opts,
		log:      log,
		entries:  map[string]*entry{},
		builtins: map[string]*entry{},
		deps:     map[string][]string{},
		events:   dropq.New[Event](eventQueue, nil),
		due:      make(chan string),
		timers:   map[string]*time.Timer{},
		done:     make(chan struct{}),
	}
	r.opts.Dirs = make([]string, len(opts.Dirs))
	for i, d := range opts.Dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("plugins: shader folder: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("plugins: shader folder %s is not a folder", d)
		}
		r.opts.Dirs[i] = filepath.Clean(d)
	}
	if opts.Builtins {
		if err := r.loadBuiltins(); err != nil {
			return nil, err
		}
	}
	if len(r.opts.Dirs) == 0 {
		return r, nil
	}
	// Watch before scanning, so that a file saved during the scan is
	// not missed.
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("plugins: watching: %w", err)
	}
	r.watcher = w
	r.watched = map[string]bool{}
	for _, d := range r.opts.Dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return nil, fmt.Errorf("plugins: watching %s: %w", d, err)
		}
		if abs, err := filepath.Abs(d); err == nil {
			r.watched[abs] = true
		}
	}
	names := map[string]bool{}
	for _, d := range r.opts.Dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("plugins: %w", err)
		}
		for _, e := range ents {
			if n, ok := pluginName(e.Name()); ok && !e.IsDir() {
				names[n] = true
			}
		}
	}
	for n := range names {
		r.resolve(n, false)
	}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

func (r *Registry) loadBuiltins() error {
	native := map[string]func() compositor.Pass{
		barcodepass.Name: func() compositor.Pass { return barcodepass.New(barcode.DefaultParams()) },
	}
	for _, b := range []struct{ name, file string }{{"identity", "identity.frag"}, {"invert", "invert.frag"}, {"sharpen", "sharpen.frag"}} {
		native[b.name] = func() compositor.Pass {
			p, err := compositor.NewBuiltinPass(b.name, b.file, builtinDefaults[b.name])
			if err != nil {
				panic(err) // the file is embedded: a missing one is a build bug
			}
			return p
		}
	}
	for n, f := range native {
		m := nativeMeta[n]
		r.builtins[n] = &entry{name: n, builtin: true, native: f, loads: 1,
			sh: &shader{name: n, kind: "native", description: m.description, inputs: m.inputs, passes: 1}}
	}
	for _, dir := range []struct {
		name string
		fsys fs.FS
	}{{"filters", shaders.Filters()}, {"transitions", shaders.Transitions()}} {
		ents, err := fs.ReadDir(dir.fsys, ".")
		if err != nil {
			return fmt.Errorf("plugins: built-in %s: %w", dir.name, err)
		}
		for _, e := range ents {
			n, ok := pluginName(e.Name())
			if !ok {
				continue
			}
			prefix := "shaders/" + dir.name
			file := prefix + "/" + e.Name()
			sh, err := loadEmbedded(dir.fsys, e.Name(), prefix)
			if err != nil {
				// A built-in that does not parse is a bug caught by
				// tests; list it with its error rather than refuse to
				// start.
				r.log.Error("built-in shader does not load", "file", file, "err", err)
			}
			r.builtins[n] = &entry{name: n, file: file, base: e.Name(), builtin: true, sh: sh, err: err, loads: 1}
		}
	}
	for n, e := range r.builtins {
		r.entries[n] = e
	}
	return nil
}

// nativeMeta describes the passes written in plain GLSL or Go the way ISF
// describes a plugin, so that lists and controls treat every pass alike.
var nativeMeta = map[string]struct {
	description string
	inputs      []Input
}{
	barcodepass.Name: {"Finds barcodes and QR codes, reads them and highlights them (detections go out with each frame)",
		[]Input{{Name: "highlight", Type: "bool", Label: "Highlight barcodes", Default: true}}},
	"identity": {"Copies the frame unchanged", nil},
	"invert": {"Inverts the colours; amount blends from none to full",
		[]Input{{Name: "uAmount", Type: "float", Label: "Amount", Default: 1.0, Min: 0.0, Max: 1.0}}},
	"sharpen": {"3x3 sharpen kernel",
		[]Input{{Name: "uStrength", Type: "float", Label: "Strength", Default: 0.5, Min: 0.0, Max: 2.0}}},
}

// builtinDefaults are the initial uniforms of the native shader built-ins.
var builtinDefaults = map[string]map[string]any{
	"invert":  {"uAmount": 1.0},
	"sharpen": {"uStrength": 0.5},
}

// pluginName is the pass name of a plugin file, or false for any other
// file (editor temporaries included).
func pluginName(base string) (string, bool) {
	if ignored(base) {
		return "", false
	}
	ext := filepath.Ext(base)
	if ext != ".fs" && ext != ".glsl" {
		return "", false
	}
	n := strings.TrimSuffix(base, ext)
	return n, n != ""
}

// ignored reports editor temporaries: vim swap files and its 4913 probe,
// backup files, emacs locks, hidden files.
func ignored(base string) bool {
	return base == "4913" || strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") ||
		strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swx") || strings.HasSuffix(base, ".tmp")
}

// find returns the folder and file that provide name, first folder first,
// .fs before .glsl; hidden ones are logged.
func (r *Registry) find(name string) (dir, base string) {
	for _, d := range r.opts.Dirs {
		for _, ext := range []string{".fs", ".glsl"} {
			st, err := os.Stat(filepath.Join(d, name+ext))
			if err != nil || st.IsDir() {
				continue
			}
			if dir == "" {
				dir, base = d, name+ext
			} else {
				r.log.Warn("shader hidden by one with the same name", "hidden", filepath.Join(d, name+ext), "used", filepath.Join(dir, base))
			}
		}
	}
	return dir, base
}

// resolve (re)loads name from the folders and reports what changed;
// notify runs the attached pipelines' updates.
func (r *Registry) resolve(name string, notify bool) {
	dir, base := r.find(name)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	old := r.entries[name]
	if b := r.builtins[name]; b != nil && b.native != nil {
		r.mu.Unlock()
		if dir != "" {
			r.log.Warn("built-in pass name is reserved; file ignored", "file", filepath.Join(dir, base), "name", name)
		}
		return
	}
	if dir == "" {
		// Gone from the folders: a built-in filter of that name (if
		// any) takes its place again.
		b := r.builtins[name]
		if b != nil {
			r.entries[name] = b
		} else {
			delete(r.entries, name)
		}
		r.mu.Unlock()
		if old == nil || old.builtin {
			return
		}
		r.log.Info("shader removed", "name", name, "file", old.file)
		if b != nil {
			r.emit(Event{Kind: Changed, Name: name, File: b.file})
			if notify {
				r.syncBindings(name)
			}
			return
		}
		r.emit(Event{Kind: Removed, Name: name, File: old.file})
		if notify {
			r.syncBindings(name)
		}
		return
	}
	r.mu.Unlock()

	sh, err := loadShader(dir, base, r.opts.MaxImagePixels)
	file := filepath.Join(dir, base)
	var pe *safe.PanicError
	if errors.As(err, &pe) {
		r.log.Error("panic while loading a shader (recovered)", "file", file, "panic", pe.Value, "stack", string(pe.Stack))
	}

	r.mu.Lock()
	e := old
	if e == nil || e.builtin || e.dir != dir || e.base != base {
		e = &entry{name: name, file: file, dir: dir, base: base}
		if old != nil && !old.builtin && err != nil {
			e.sh = old.sh // keep the last good version running
		}
	}
	e.loads++
	e.compileErr = false
	if err != nil {
		e.err = err
	} else {
		e.sh, e.err = sh, nil
		for p, names := range r.deps {
			r.deps[p] = slices.DeleteFunc(names, func(n string) bool { return n == name })
		}
		for _, p := range sh.deps {
			if !slices.Contains(r.deps[p], name) {
				r.deps[p] = append(r.deps[p], name)
			}
			// IMPORTED images may sit in a subfolder.
			if d := filepath.Dir(p); r.watcher != nil && !r.watched[d] {
				if werr := r.watcher.Add(d); werr != nil {
					r.log.Warn("cannot watch a shader's image folder", "dir", d, "err", werr)
				} else {
					r.watched[d] = true
				}
			}
		}
	}
	r.entries[name] = e
	r.mu.Unlock()

	switch {
	case err != nil:
		r.log.Error("shader does not load; the previous version keeps running", "name", name, "err", err)
		r.emit(Event{Kind: Error, Name: name, File: file, Err: err})
		return
	case old == nil:
		r.log.Info("shader added", "name", name, "file", file)
		r.emit(Event{Kind: Added, Name: name, File: file})
	default:
		r.log.Info("shader file changed", "name", name, "file", file)
		r.emit(Event{Kind: Changed, Name: name, File: file})
	}
	if notify {
		r.syncBindings(name)
	}
}

// emit queues ev, dropping the oldest queued event when full (and ev
// itself once the registry is closed).
func (r *Registry) emit(ev Event) { r.events.Push(ev) }

// setError records an error that happened after a successful parse (a
// compile error in a pipeline) and reports it.
func (r *Registry) setError(name string, err error) {
	r.mu.Lock()
	e := r.entries[name]
	file := ""
	if e != nil {
		e.err, e.compileErr = err, true
		file = e.file
	}
	r.mu.Unlock()
	r.log.Error("shader refused; the previous version keeps running", "name", name, "err", err)
	r.emit(Event{Kind: Error, Name: name, File: file, Err: err})
}

// try runs Options.Trial on name's current shader with the values its
// pass will start with; nil when there is nothing to try.
func (r *Registry) try(name string, values map[string]any) error {
	if r.opts.Trial == nil {
		return nil
	}
	r.mu.Lock()
	e := r.entries[name]
	r.mu.Unlock()
	if e == nil || e.builtin || e.sh == nil || e.sh.source == nil {
		return nil
	}
	src := *e.sh.source
	src.Name, src.Inputs = name, values
	return r.opts.Trial(src)
}

// Events returns the registry's event stream. It is buffered (64); when
// nobody reads, the oldest events are dropped. It is closed by Close.
func (r *Registry) Events() <-chan Event { return r.events.C() }

// List describes every known pass, sorted by name.
func (r *Registry) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup describes one pass.
func (r *Registry) Lookup(name string) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[name]
	if !ok {
		return Info{}, false
	}
	return e.info(), true
}

func (e *entry) info() Info {
	in := Info{Name: e.name, File: e.file, Builtin: e.builtin, Loads: e.loads, Inputs: []Input{}, Passes: 1, Kind: "native"}
	if e.sh != nil {
		in.Kind = e.sh.kind
		in.Description = e.sh.description
		in.Inputs = append(in.Inputs, e.sh.inputs...)
		in.Passes = e.sh.passes
		in.Transition = e.sh.transition
	}
	if e.err != nil {
		in.LastError = e.err.Error()
	}
	return in
}

// New makes a fresh instance of the pass called name, with its inputs at
// their defaults. For a plugin whose file is currently broken it is the
// last version that loaded.
func (r *Registry) New(name string) (compositor.Pass, error) {
	return r.newPass(name, nil)
}

func (r *Registry) newPass(name string, values map[string]any) (compositor.Pass, error) {
	r.mu.Lock()
	e, ok := r.entries[name]
	closed := r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return nil, errClosed
	case !ok:
		return nil, fmt.Errorf("plugins: no pass named %q", name)
	case e.native != nil:
		return e.native(), nil
	case e.sh == nil:
		return nil, fmt.Errorf("plugins: pass %q does not load: %w", name, e.err)
	}
	return e.sh.newPass(values)
}

// Close stops watching and detaches every pipeline (their passes stay).
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.done)
	var err error
	if r.watcher != nil {
		err = r.watcher.Close()
	}
	r.wg.Wait()
	r.bindMu.Lock()
	r.bindings = nil
	r.bindMu.Unlock()
	r.events.Close()
	return err
}

// loop turns file events into debounced reloads.
func (r *Registry) loop() {
	defer r.wg.Done()
	defer func() {
		for _, t := range r.timers {
			t.Stop()
		}
	}()
	for {
		select {
		case <-r.done:
			return
		case ev, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			for _, n := range r.affected(ev.Name) {
				r.schedule(n)
			}
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.log.Warn("watching shader folders", "err", err)
		case n := <-r.due:
			delete(r.timers, n)
			r.resolve(n, true)
		}
	}
}

func (r *Registry) schedule(name string) {
	if t, ok := r.timers[name]; ok {
		t.Reset(r.opts.Debounce)
		return
	}
	r.timers[name] = time.AfterFunc(r.opts.Debounce, func() {
		select {
		case r.due <- name:
		case <-r.done:
		}
	})
}

// affected maps a changed path to the names to reload.
func (r *Registry) affected(path string) []string {
	base := filepath.Base(path)
	if ignored(base) {
		return nil
	}
	if n, ok := pluginName(base); ok {
		return []string{n}
	}
	var names []string
	if filepath.Ext(base) == ".vs" {
		names = append(names, strings.TrimSuffix(base, ".vs"))
	}
	if abs, err := filepath.Abs(path); err == nil {
		r.mu.Lock()
		for _, n := range r.deps[abs] {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		r.mu.Unlock()
	}
	return names
}

// clearError forgets a compile error once the pass compiled; a parse
// error stays (it belongs to the file, not to a pipeline).
func (r *Registry) clearError(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[name]; e != nil && e.err != nil && e.sh != nil && e.compileErr {
		e.err, e.compileErr = nil, false
	}
}

// LoadFile reads one plugin file outside any registry, as tools do
// (shadercast shader check): its description and a fresh pass. Images it
// imports must be in the file's own folder or below.
func LoadFile(path string) (Info, compositor.Pass, error) {
	return LoadFileWith(path, FileOptions{})
}

// FileOptions are LoadFileWith's; the zero value is LoadFile's.
type FileOptions struct {
	// MaxImagePixels bounds the images the shader imports, as
	// Options.MaxImagePixels.
	MaxImagePixels int64
	// Inputs are the values the pass starts with, checked against the
	// shader's declarations (an image input takes a file name in the
	// shader's folder); the others start at their defaults.
	Inputs map[string]any
	// Trial, when set, tries the shader with those values before the
	// pass is made, as Options.Trial does for a registry's files.
	Trial func(trial.Shader) error
}

// LoadFileWith reads one plugin file outside any registry (a scenes
// file's isf source): its description and a fresh pass, with the options'
// inputs and trial.
func LoadFileWith(path string, o FileOptions) (Info, compositor.Pass, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	sh, err := loadShader(dir, base, o.MaxImagePixels)
	if err != nil {
		return Info{}, nil, err
	}
	e := &entry{name: sh.name, file: path, sh: sh, loads: 1}
	p, err := sh.newPass(nil)
	if err != nil {
		return Info{}, nil, err
	}
	if len(o.Inputs) > 0 {
		in, ok := p.(interface{ SetInput(string, any) error })
		if !ok {
			return Info{}, nil, fmt.Errorf("%s: a %s pass takes no inputs", path, sh.kind)
		}
		for _, name := range slices.Sorted(maps.Keys(o.Inputs)) {
			if err := in.SetInput(name, o.Inputs[name]); err != nil {
				return Info{}, nil, err
			}
		}
	}
	if o.Trial != nil && sh.source != nil {
		src := *sh.source
		src.Name, src.Inputs = sh.name, o.Inputs
		if err := o.Trial(src); err != nil {
			return Info{}, nil, err
		}
	}
	return e.info(), p, nil
}
