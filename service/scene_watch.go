package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/shadercast/shadercast/scene"
)

// scenesPoll is how often the scenes file is looked at for a change.
const scenesPoll = 500 * time.Millisecond

// watchScenes reloads the scenes file when it changes (its size or
// modification time). A good version replaces the one in force (sources
// it keeps as they were run on, new ones open, gone ones close); a bad one
// changes nothing, and its error (with its line) is logged once, counted,
// announced (SSE scenes-error) and shown by GET /api/scenes until a good
// version comes.
func (s *Service) watchScenes(ctx context.Context) {
	t := time.NewTicker(scenesPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.scenes.cur.Load()
		if !s.scenes.changed() {
			if redo := s.scenes.shadersChanged(cur.desc); len(redo) > 0 {
				if err := s.rebuildGenerators(redo); err != nil {
					s.scenesError(err)
				} else {
					s.log.Info("isf source shaders reloaded")
				}
			}
			continue
		}
		d, err := loadScenes(s.scenes.path)
		if err == nil && d.Canvas != cur.desc.Canvas {
			err = fmt.Errorf("--scenes %s: canvas: %dx%d at %g fps cannot change while running (it sizes the encoders); restart to change it",
				s.scenes.path, d.Canvas.Width, d.Canvas.Height, d.Canvas.FPS)
		}
		if err == nil {
			err = s.applyScenes(d, true)
		}
		if err != nil {
			s.scenesError(err)
			continue
		}
		s.scenes.mu.Lock()
		s.scenes.reloadErr = ""
		s.scenes.mu.Unlock()
		s.log.Info("scenes file applied", "program", d.Program)
	}
}

// scenesError reports a version of the scenes (or of an isf source's
// shader) not applied: logged once, counted, announced (SSE scenes-error)
// and shown by GET /api/scenes until a good version comes.
func (s *Service) scenesError(err error) {
	s.scenes.mu.Lock()
	repeat := s.scenes.reloadErr == err.Error()
	s.scenes.reloadErr = err.Error()
	s.scenes.mu.Unlock()
	if repeat {
		return
	}
	s.stats.scenesErrors.Add(1)
	s.log.Error("scenes file not applied; the last good one stays", "err", err)
	if b, jerr := json.Marshal(map[string]string{"error": err.Error()}); jerr == nil {
		s.hub.publish(event{name: "scenes-error", data: b})
	}
}

// stamp is what is looked at of a file to see it changed.
type stamp struct {
	mtime time.Time
	size  int64
}

// look reports whether the file at path changed since *st (the first look
// only records it) and records its stamp.
func look(path string, st *stamp) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if fi.ModTime().Equal(st.mtime) && fi.Size() == st.size {
		return false
	}
	first := st.mtime.IsZero()
	*st = stamp{fi.ModTime(), fi.Size()}
	return !first
}

// changed reports whether the scenes file's size or modification time
// differ from the last look (the first look only records them).
func (sc *scenes) changed() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return look(sc.path, &sc.file)
}

// noteShader records the stamp of an isf source's file as it is read.
func (sc *scenes) noteShader(path string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.shaders == nil {
		sc.shaders = map[string]stamp{}
	}
	st := stamp{}
	look(path, &st)
	sc.shaders[path] = st
}

// shadersChanged returns the isf sources of d whose shader file changed
// since the last look (a source new to the watch is recorded, not
// reported).
func (sc *scenes) shadersChanged(d *scene.Description) map[string]bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	next := map[string]stamp{}
	changed := map[string]bool{} // by path: a file two sources share is looked at once
	for _, src := range d.Sources {
		if _, ok := next[src.Path]; ok || src.Type != scene.TypeISF {
			continue
		}
		st := sc.shaders[src.Path]
		changed[src.Path] = look(src.Path, &st)
		next[src.Path] = st
	}
	sc.shaders = next
	var out map[string]bool
	for name, src := range d.Sources {
		if src.Type == scene.TypeISF && changed[src.Path] {
			if out == nil {
				out = map[string]bool{}
			}
			out[name] = true
		}
	}
	return out
}
