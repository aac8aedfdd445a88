/*{
	"ISFVSN": "2",
	"DESCRIPTION": "A round magnifying glass that follows a point (drag it on the video)",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Distortion"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "center", "TYPE": "point2D", "LABEL": "Centre", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0]},
		{"NAME": "radius", "TYPE": "float", "LABEL": "Radius", "DEFAULT": 0.2, "MIN": 0.01, "MAX": 1.0},
		{"NAME": "zoom", "TYPE": "float", "LABEL": "Zoom", "DEFAULT": 2.0, "MIN": 1.0, "MAX": 8.0}
	]
}*/

void main() {
	vec2 uv = isf_FragNormCoord;
	// The lens is round in pixels: measure in units of the frame height.
	vec2 aspect = vec2(RENDERSIZE.x / RENDERSIZE.y, 1.0);
	float d = length((uv - center) * aspect);
	if (d < radius) {
		uv = center + (uv - center) / zoom;
	}
	gl_FragColor = IMG_NORM_PIXEL(inputImage, uv);
}
