package barcode

// Hooks for the external tests (package barcode_test), which exist because
// they use source/testsrc, itself an importer of this package.

// Decodes returns how many regions d has decoded (not served by the cache).
func (d *Detector) Decodes() int { return d.decodes }

// Locate runs only the labeling stage on m and returns the number of regions.
func (d *Detector) Locate(m *Mask) int { return len(d.loc.locate(m, &d.p)) }

// Verifies returns how many cached symbols d has re-read in place.
func (d *Detector) Verifies() int { return d.verifies }

// ZXingCalls returns how many times d has called zxing-cpp.
func (d *Detector) ZXingCalls() int { return d.dec.calls }
