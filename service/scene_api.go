package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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
}

// TransitionView is a switch under way.
type TransitionView struct {
	Name     string  `json:"name"`
	From     string  `json:"from"`
	Progress float64 `json:"progress"`
}

// SourceView is one source's state: "opening", "live", "stalled" (live,
// but no frame for stallAfter), "ended" or "failed".
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

// scenesRoute takes the {name} of a route prefix{name}suffix, answering
// 404 (and false) without --scenes or for another path.
func (s *Service) scenesRoute(w http.ResponseWriter, r *http.Request, prefix, suffix string) (string, bool) {
	if s.scenes == nil {
		errNoScenes(w)
		return "", false
	}
	name, _ := strings.CutPrefix(r.URL.Path, prefix)
	name, ok := strings.CutSuffix(name, suffix)
	if !ok || name == "" || strings.Contains(name, "/") {
		jsonError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (want "+prefix+"{name}"+suffix+")")
		return "", false
	}
	return name, true
}

func (s *Service) apiScenes(w http.ResponseWriter, r *http.Request) {
	if s.scenes == nil {
		errNoScenes(w)
		return
	}
	set := s.scenes.cur.Load()
	v := ScenesView{Description: set.desc, SourceStates: map[string]SourceView{}, Transitions: s.transitionNames()}
	if t := set.trans; t != nil {
		if p := t.progress(time.Now()); p < 1 {
			v.Transition = &TransitionView{Name: t.name, From: t.from, Progress: p}
		}
	}
	s.scenes.mu.Lock()
	v.ReloadError = s.scenes.reloadErr
	s.scenes.mu.Unlock()
	for _, ss := range set.sources {
		ss.mu.Lock()
		sv := SourceView{State: ss.state, Frames: ss.frames, LastError: ss.lastError}
		if sv.State == "live" && ss.spec.Type != scene.TypeColor && ss.spec.Type != scene.TypeISF && time.Since(ss.at) > sourceStallAfter {
			sv.State = "stalled"
		}
		ss.mu.Unlock()
		v.SourceStates[ss.name] = sv
	}
	writeJSON(w, http.StatusOK, v)
}

// Limits on a text source's fields set through the API.
const (
	maxTextFields     = 32
	maxTextFieldBytes = 256
)
