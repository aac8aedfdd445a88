package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/whip"
)

// whipSources are the WHIP endpoints of the whip sources of the
// description in force: POST /whip/{name} publishes source name, one
// publisher at a time (409 for a second), its resource at
// /whip/{name}/{id}. Each has a WHIP handler of its own, made on its first
// POST and closed (its publication ended) when the source leaves the
// description.
type whipSources struct {
	mu       sync.Mutex
	handlers map[string]*whipSource
	closed   bool
}

type whipSource struct {
	h *whip.Handler
	// pubs hands a publication to the source's reader; one at a time.
	pubs chan *whip.Publication
}

// whipSource returns the endpoint of whip source name of the description
// in force, made on first use; nil when there is no such source.
func (s *Service) whipSource(name string) *whipSource {
	if s.scenes == nil {
		return nil
	}
	if src, ok := s.scenes.cur.Load().desc.Sources[name]; !ok || src.Type != scene.TypeWHIP {
		return nil
	}
	ws := &s.whipSrcs
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return nil
	}
	if e := ws.handlers[name]; e != nil {
		return e
	}
	// Again under mu: syncWHIPSources may have removed the source since.
	if src, ok := s.scenes.cur.Load().desc.Sources[name]; !ok || src.Type != scene.TypeWHIP {
		return nil
	}
	e := &whipSource{pubs: make(chan *whip.Publication, 1)}
	cfg := s.whipConfig(func(p *whip.Publication) {
		select {
		case e.pubs <- p:
		default:
			go p.Close() // the reader has one waiting
		}
	})
	cfg.MaxPublishers = 1
	h, err := whip.NewHandler(cfg)
	if err != nil {
		s.log.Error("WHIP source endpoint", "source", name, "err", err)
		return nil
	}
	e.h = h
	if ws.handlers == nil {
		ws.handlers = map[string]*whipSource{}
	}
	ws.handlers[name] = e
	return e
}

// syncWHIPSources closes the endpoints of sources d no longer has as whip
// sources, ending their publications.
func (s *Service) syncWHIPSources(d *scene.Description) {
	ws := &s.whipSrcs
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for name, e := range ws.handlers {
		if src, ok := d.Sources[name]; !ok || src.Type != scene.TypeWHIP {
			go e.h.Close()
			delete(ws.handlers, name)
		}
	}
}

// closeWHIPSources closes every whip source endpoint (the service stops).
func (s *Service) closeWHIPSources() {
	ws := &s.whipSrcs
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.closed = true
	for name, e := range ws.handlers {
		e.h.Close()
		delete(ws.handlers, name)
	}
}

// routeWHIP serves /whip/...: /whip/{name} and below go to whip source
// name when the description in force has one, everything else to the
// default WHIP endpoint (its publications' resources, /whip/{id}).
func (s *Service) routeWHIP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/whip/")
	name, _, _ := strings.Cut(rest, "/")
	if e := s.whipSource(name); e != nil {
		e.h.ServeHTTP(w, r)
		return
	}
	s.whipH.ServeHTTP(w, r)
}

// awaitPublisher waits for whip source name's next publisher and its first
// picture; the video it returns ends the publication when closed.
func (s *Service) awaitPublisher(ctx context.Context, name string) (source.Video, error) {
	e := s.whipSource(name)
	if e == nil {
		return nil, fmt.Errorf("whip source %q has no endpoint (the service is stopping)", name)
	}
	var p *whip.Publication
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case p = <-e.pubs:
	}
	select {
	case <-p.FirstFrame():
		return publication{p.Video, p}, nil
	case <-p.Done():
		return nil, fmt.Errorf("publisher left before its first picture: %w", p.Err())
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
}

// publication is a publisher's video as a source: Close ends the
// publication.
type publication struct {
	source.Video
	p *whip.Publication
}

func (v publication) Close() error { return v.p.Close() }

// ReadAudio is the publisher's sound; io.EOF at once when it sends none.
func (v publication) ReadAudio(ctx context.Context) (media.AudioData, error) {
	if v.p.Audio == nil {
		return media.AudioData{}, io.EOF
	}
	return v.p.Audio.ReadAudio(ctx)
}
