/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Mosaic: each cell of cellSize x cellSize pixels takes the colour of its centre pixel",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Stylize"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "cellSize", "TYPE": "float", "LABEL": "Cell size (px)", "DEFAULT": 16.0, "MIN": 1.0, "MAX": 128.0}
	]
}*/

void main() {
	// Whole pixels only: a fractional cell would sample between pixels
	// and blur the mosaic.
	float size = max(floor(cellSize), 1.0);
	vec2 pix = isf_FragNormCoord * RENDERSIZE;
	// The centre pixel of the cell (its centre is at +0.5), clamped for
	// the partial cells on the right and top edges.
	vec2 cell = floor(pix / size) * size + floor(size * 0.5) + 0.5;
	cell = min(cell, RENDERSIZE - 0.5);
	gl_FragColor = IMG_PIXEL(inputImage, cell);
}
