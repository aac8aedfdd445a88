package isfpass

import (
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
)

// testDevice is shared by the package's tests (compositortest.Main).
var testDevice *compositor.Device

func TestMain(m *testing.M) { compositortest.Main(m, &testDevice) }
