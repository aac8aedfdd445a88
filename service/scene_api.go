package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/mergepatch"
	"github.com/shadercast/shadercast/scene"
)

// apiSourceFields is POST /api/sources/{name}/fields: values for a text
// source's {{name}} fields, shown from its next frame, e.g.
// {"score": "3-1"}. They stay when the source reopens; an empty value
// shows nothing.
func (s *Service) apiSourceFields(w http.ResponseWriter, r *http.Request) {
	name, ok := s.scenesRoute(w, r, "/api/sources/", "/fields")
	if !ok {
		return
	}
	var fields map[string]string
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
		jsonError(w, http.StatusBadRequest, `body: want {"field": "value", ...}: `+err.Error())
		return
	}
	set := s.scenes.cur.Load()
	i := slices.IndexFunc(set.sources, func(ss *sceneSource) bool { return ss.name == name })
	switch {
	case i < 0:
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("no source %q", name))
		return
	case set.sources[i].spec.Type != scene.TypeText:
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("source %q is a %s source: only text sources have fields", name, set.sources[i].spec.Type))
		return
	}
	for k, v := range fields {
		if k == "clock" || k == "date" || len(k) == 0 || len(k) > 64 || len(v) > maxTextFieldBytes {
			jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("field %q: want a name other than clock and date, and a value of at most %d bytes", k, maxTextFieldBytes))
			return
		}
	}
	ss := set.sources[i]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.fields == nil {
		ss.fields = map[string]string{}
	}
	for k := range fields {
		if _, known := ss.fields[k]; !known && len(ss.fields) >= maxTextFields {
			jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("at most %d fields per source", maxTextFields))
			return
		}
	}
	for k, v := range fields {
		ss.fields[k] = v
		if ss.running != nil {
			ss.running.SetField(k, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"source": name, "fields": ss.fields})
}

// ScenesView is GET /api/scenes: the description in force, with every
// default filled in, each source's state, and the error of the file's
// last version when it could not be applied.
type ScenesView struct {
	*scene.Description
	SourceStates map[string]SourceView `json:"sourceStates"`
	ReloadError  string                `json:"reloadError,omitempty"`
	// Transitions name the transitions a switch may use.
	Transitions []string `json:"transitions"`
	// Transition is the switch under way, if any.
	Transition *TransitionView `json:"transition,omitempty"`
	// LayerPasses are the passes of layers that have some, with their
	// inputs, by scene and layer index (null for a layer without).
	LayerPasses map[string][][]compositor.PassInfo `json:"layerPasses"`
}

// TransitionView is a switch under way.
type TransitionView struct {
	Name     string  `json:"name"`
	From     string  `json:"from"`
	Progress float64 `json:"progress"`
}

// SourceView is one source's state: "opening", "waiting" (a whip source
// without a publisher), "live", "stalled" (live, but no frame for
// sourceStallAfter), "ended" or "failed".
type SourceView struct {
	State     string `json:"state"`
	Frames    uint64 `json:"frames"`
	LastError string `json:"lastError,omitempty"`
}

// sourceStallAfter is how long a live source may go without a frame
// before it is said to be stalled (its last frame stays on the canvas).
const sourceStallAfter = 3 * time.Second

// errNoScenes answers a scenes route of a service without --scenes.
func errNoScenes(w http.ResponseWriter) {
	jsonError(w, http.StatusNotFound, "no scenes: the service runs one --input (start it with --scenes FILE)")
}

// apiScene routes POST /api/scenes/{name}/...: activate, or a layer's
// inputs.
func (s *Service) apiScene(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/inputs") {
		s.apiLayerInputs(w, r)
		return
	}
	s.apiActivate(w, r)
}

// scenesRoute takes the {name} of a route prefix{name}suffix, answering
// 404 (and false) without --scenes or for another path. The inputs route
// takes {scene}/layers/{index} as its name.
func (s *Service) scenesRoute(w http.ResponseWriter, r *http.Request, prefix, suffix string) (string, bool) {
	if s.scenes == nil {
		errNoScenes(w)
		return "", false
	}
	name, _ := strings.CutPrefix(r.URL.Path, prefix)
	name, ok := strings.CutSuffix(name, suffix)
	if !ok || name == "" || strings.Contains(name, "/") && suffix != "/inputs" {
		jsonError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (want "+prefix+"{name}"+suffix+")")
		return "", false
	}
	return name, true
}

// apiScenes is /api/scenes: GET the description in force with the
// sources' states; PUT a whole description in its place; PATCH a JSON merge
// patch (RFC 7396) of it, so that {"scenes": {"main": {"layers": [...]}}}
// replaces one scene's layers and {"sources": {"bg": {"color": "#fff"}}}
// changes one source. What is sent gets the checks and the swap of a file
// reload: 422 with every error and nothing changed, or 200 with the
// description now in force. The scenes file wins again when it changes.
func (s *Service) apiScenes(w http.ResponseWriter, r *http.Request) {
	if s.scenes == nil {
		errNoScenes(w)
		return
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if !s.putScenes(w, r) {
			return
		}
	}
	writeJSON(w, http.StatusOK, s.scenesView())
}

// scenesView is GET /api/scenes's answer.
func (s *Service) scenesView() ScenesView {
	set := s.scenes.cur.Load()
	v := ScenesView{Description: set.desc, SourceStates: s.sourceStates(set), Transitions: s.transitionNames()}
	if t := set.trans; t != nil {
		if p := t.progress(time.Now()); p < 1 {
			v.Transition = &TransitionView{Name: t.name, From: t.from, Progress: p}
		}
	}
	s.scenes.mu.Lock()
	v.ReloadError = s.scenes.reloadErr
	s.scenes.mu.Unlock()
	v.LayerPasses = map[string][][]compositor.PassInfo{}
	s.scenes.applyMu.Lock()
	chains := s.scenes.chains
	s.scenes.applyMu.Unlock()
	for name, sc := range set.desc.Scenes {
		var per [][]compositor.PassInfo
		for i := range sc.Layers {
			var ps []compositor.PassInfo
			if c := chains[layerKey(set.desc, &sc.Layers[i])]; c != nil {
				ps = c.Passes()
			}
			per = append(per, ps)
		}
		v.LayerPasses[name] = per
	}
	return v
}

// LayerInputsRequest is the body of POST
// /api/scenes/{scene}/layers/{index}/inputs.
type LayerInputsRequest struct {
	Pass   string         `json:"pass"`
	Inputs map[string]any `json:"inputs"`
}

// apiLayerInputs is POST /api/scenes/{scene}/layers/{index}/inputs: it
// sets inputs of a layer's pass (a vignette's amount, an ISF source's
// speed), type-checked as PATCH /api/pipeline does, from the next frame.
// The layers that show one source through the same passes share them.
func (s *Service) apiLayerInputs(w http.ResponseWriter, r *http.Request) {
	rest, _ := s.scenesRoute(w, r, "/api/scenes/", "/inputs")
	if rest == "" {
		return
	}
	sceneName, idx, ok := strings.Cut(rest, "/layers/")
	i, err := strconv.Atoi(idx)
	set := s.scenes.cur.Load()
	sc, found := set.desc.Scenes[sceneName]
	if !ok || err != nil || !found || i < 0 || i >= len(sc.Layers) {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("no layer %q of scene %q", idx, sceneName))
		return
	}
	var req LayerInputsRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	s.scenes.applyMu.Lock()
	c := s.scenes.chains[layerKey(set.desc, &sc.Layers[i])]
	s.scenes.applyMu.Unlock()
	if c == nil {
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("layer %d of scene %q has no passes", i, sceneName))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(req.Inputs)) {
		if err := c.SetUniform(req.Pass, k, req.Inputs[k]); err != nil {
			jsonError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"passes": c.Passes()})
}

// sourceStates are the states of set's sources, by name.
func (s *Service) sourceStates(set *sceneSet) map[string]SourceView {
	out := map[string]SourceView{}
	for _, ss := range set.sources {
		ss.mu.Lock()
		sv := SourceView{State: ss.state, Frames: ss.frames, LastError: ss.lastError}
		if sv.State == "live" && ss.stalledLocked(time.Now()) {
			sv.State = "stalled"
		}
		ss.mu.Unlock()
		out[ss.name] = sv
	}
	return out
}

// SourcesView is GET /api/sources: each source's settings and state.
type SourcesView struct {
	Sources map[string]SourceInfo `json:"sources"`
}

// SourceInfo is one source: its settings (defaults filled in) and state.
type SourceInfo struct {
	scene.Source
	SourceView
}

// apiSources is GET /api/sources.
func (s *Service) apiSources(w http.ResponseWriter, r *http.Request) {
	if s.scenes == nil {
		errNoScenes(w)
		return
	}
	set := s.scenes.cur.Load()
	v := SourcesView{Sources: map[string]SourceInfo{}}
	for name, st := range s.sourceStates(set) {
		v.Sources[name] = SourceInfo{Source: set.desc.Sources[name], SourceView: st}
	}
	writeJSON(w, http.StatusOK, v)
}

// putScenes applies the description a PUT or PATCH sends; false when it
// answered with an error.
func (s *Service) putScenes(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes: send larger descriptions as the scenes file", tooBig.Limit))
		} else {
			jsonError(w, http.StatusBadRequest, "body: "+err.Error())
		}
		return false
	}
	// The look at the description in force and the swap are one step
	// under applyMu: a switch or reload meanwhile is not undone.
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	cur := s.scenes.cur.Load().desc
	data := body
	if r.Method == http.MethodPatch {
		doc, err := json.Marshal(cur)
		if err == nil {
			data, err = mergepatch.Apply(doc, body)
		}
		if err != nil {
			jsonError(w, http.StatusBadRequest, "merge patch: "+err.Error())
			return false
		}
	}
	d, err := parseScenes(data)
	if err == nil && d.Canvas != cur.Canvas {
		err = scene.Errors{{Path: "canvas", Msg: fmt.Sprintf("%dx%d at %g fps: the canvas cannot change while running (it sizes the encoders)", d.Canvas.Width, d.Canvas.Height, d.Canvas.FPS)}}
	}
	if err == nil {
		err = s.confine(d)
	}
	if err == nil {
		err = s.applyScenesLocked(d, false)
	}
	if err != nil {
		sceneErrors(w, err, r.Method == http.MethodPatch)
		return false
	}
	s.log.Info("scenes replaced through the API", "method", r.Method, "program", d.Program)
	return true
}

// SceneError is one problem of a description sent through the API.
type SceneError struct {
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// sceneErrors answers 422 with every error of err placed (its line and
// column in the body, but not for a patch: they would be the merged
// document's).
func sceneErrors(w http.ResponseWriter, err error, patch bool) {
	var list []SceneError
	var es scene.Errors
	var e *scene.Error
	switch {
	case errors.As(err, &es):
	case errors.As(err, &e):
		es = scene.Errors{e}
	}
	for _, e := range es {
		se := SceneError{Path: e.Path, Message: e.Msg}
		if !patch {
			se.Line, se.Column = e.Line, e.Column
		}
		list = append(list, se)
	}
	if list == nil {
		list = []SceneError{{Message: err.Error()}}
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "status": http.StatusUnprocessableEntity, "errors": list})
}

// confine checks the files a description sent through the API names
// (sources' path and font): each is one the scenes file names, or lies
// within --media (a relative path is taken there, and d gets the file's
// real path). A control client may otherwise make the service read any
// file it can. Under applyMu.
func (s *Service) confine(d *scene.Description) error {
	known := map[string]bool{}
	if f := s.scenes.fromFile; f != nil { // applyMu is held
		for _, src := range f.Sources {
			known[src.Path], known[src.Font] = true, true
		}
	}
	var errs scene.Errors
	for _, name := range slices.Sorted(maps.Keys(d.Sources)) {
		src := d.Sources[name]
		for _, f := range []struct {
			key string
			p   *string
		}{{"path", &src.Path}, {"font", &src.Font}} {
			if *f.p == "" || known[*f.p] {
				continue
			}
			real, err := s.inMedia(*f.p)
			if err != nil {
				errs = append(errs, &scene.Error{Path: "sources." + name + "." + f.key, Msg: err.Error()})
				continue
			}
			*f.p = real
		}
		d.Sources[name] = src
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// inMedia returns the real path of p within --media.
func (s *Service) inMedia(p string) (string, error) {
	if s.cfg.Media == "" {
		return "", fmt.Errorf("%q is not a file the scenes file names; start the service with --media DIR to let the control API name the files in DIR", p)
	}
	root, err := filepath.Abs(s.cfg.Media)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return "", fmt.Errorf("--media: %w", err)
	}
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(root, p)
	}
	// One answer for a file that is missing and one that is elsewhere:
	// a control client learns nothing of files outside --media.
	real, err := filepath.EvalSymlinks(full)
	if rel, rerr := filepath.Rel(root, real); err != nil || rerr != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%q: no such file in --media %s", p, s.cfg.Media)
	}
	return real, nil
}

// Limits on a text source's fields set through the API.
const (
	maxTextFields     = 32
	maxTextFieldBytes = 256
)
