package service

import (
	"math"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
)

// programDetections gathers a frame's barcodes: the output chain's, then
// each layer chain's, mapped onto the canvas where the layer shows them
// (through the nested scenes it is in) and told with their source (the
// chains are named after their sources). The result and its corner slices
// are reused by the next call: compositor goroutine.
func (s *Service) programDetections(out *compositor.Output) []Detection {
	d := s.dets[:0]
	next := func() *Detection {
		if len(d) < cap(d) {
			d = d[:len(d)+1]
		} else {
			d = append(d, Detection{})
		}
		return &d[len(d)-1]
	}
	for _, b := range barcodesIn(out.Results) {
		e := next()
		corners := e.CornerPoints[:0]
		e.DetectedBarcode, e.Source, e.InSource = b, "", nil
		e.CornerPoints = append(corners, b.CornerPoints...)
	}
	for k := range out.Layers {
		lr := &out.Layers[k]
		src := lr.Chain
		for _, b := range barcodesIn(lr.Results) {
			e := next()
			corners := e.CornerPoints[:0]
			in := e.InSource
			if in == nil {
				in = &SourceDetection{}
			}
			in.Width, in.Height, in.BoundingBox = lr.Width, lr.Height, b.BoundingBox
			in.CornerPoints = append(in.CornerPoints[:0], b.CornerPoints...)
			e.DetectedBarcode, e.Source, e.InSource = b, src, in
			e.CornerPoints = corners
			minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, p := range b.CornerPoints {
				x, y := lr.ToCanvas(p.X, p.Y)
				e.CornerPoints = append(e.CornerPoints, barcode.Point{X: x, Y: y})
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
			if len(b.CornerPoints) > 0 {
				e.BoundingBox = barcode.Rect{X: minX, Y: minY, Width: maxX - minX, Height: maxY - minY}
			}
		}
	}
	s.dets = d
	return d
}

// barcodesIn is the barcodes a chain's results hold: the barcode pass
// reports one list per frame, so this is that list, without a copy.
func barcodesIn(results []any) []barcode.DetectedBarcode {
	for _, r := range results {
		if b, ok := r.(*barcodepass.Result); ok {
			return b.Barcodes
		}
	}
	return nil
}
