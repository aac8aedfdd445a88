package isfpass

import (
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
)

// BenchmarkComposite/4x720p-grid-dissolve: compositor's
// BenchmarkComposite/4x720p-grid half way through a dissolve from its
// mirror image: both drawn, and combined by the built-in ISF dissolve.
func BenchmarkComposite(b *testing.B) {
	b.Run("4x720p-grid-dissolve", func(b *testing.B) {
		compositortest.BenchGrid(b, testDevice, compositortest.Grid{Transition: func(p *compositor.Pipeline) (*compositor.LayerChain, error) {
			return p.NewTransition("dissolve", builtinTransition(b, "dissolve.fs"))
		}})
	})
}
