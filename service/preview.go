package service

import (
	"strings"

	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/preview"
)

// previewWindow is the desktop window as the service uses it.
type previewWindow interface {
	compositor.Presenter
	Context() (compositor.GLContext, error)
	SetStatus(string)
	Close() error
}

func openPreview(s *Service) (previewWindow, error) {
	w, err := preview.New(preview.Options{
		Title: "shadercast", Width: s.cfg.Width, Height: s.cfg.Height, SaveDir: s.cfg.SaveDir, Logger: s.log,
		OnKey: func(key string) {
			if n, ok := strings.CutPrefix(key, "scene-"); ok {
				s.activateNth(int(n[0] - '0'))
				return
			}
			if key != "barcode" || s.barcode == nil {
				return
			}
			for _, p := range s.pl.Passes() {
				if p.Name == barcodepass.Name {
					err := s.pl.SetEnabled(barcodepass.Name, !p.Enabled)
					s.log.Info("preview: barcode pass toggled", "enabled", !p.Enabled, "err", err)
					s.publishPipeline()
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}
