/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Soft blur (a dual-filter blur: 4 taps down to half size, 4 taps back up), blended over the frame",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Blur"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "radius", "TYPE": "float", "LABEL": "Radius (px)", "DEFAULT": 2.0, "MIN": 0.0, "MAX": 8.0},
		{"NAME": "amount", "TYPE": "float", "LABEL": "Amount", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0}
	],
	"PASSES": [
		{"TARGET": "small", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2"},
		{}
	]
}*/

// Why this shape: on a software renderer every pass and every target
// costs milliseconds (see shaders/README.md), so the blur uses one
// half-size target and lets linear filtering do most of the averaging: a
// read between four pixels returns their mean for the price of one read.
// A separable Gaussian (horizontal and vertical targets) measured three
// times slower here.

// The mean of four reads (taken on the diagonals below).
vec4 fourTaps(vec4 a, vec4 b, vec4 c, vec4 d) {
	return (a + b + c + d) * 0.25;
}

void main() {
	vec2 uv = isf_FragNormCoord;
	if (PASSINDEX == 0) {
		// Each half-size pixel centre falls on the corner of four input
		// pixels, and so does each tap for a whole radius: every read is
		// a 2x2 box, the four of them a 16-pixel kernel.
		vec2 o = radius / RENDERSIZE * 0.5;
		gl_FragColor = fourTaps(
			IMG_NORM_PIXEL(inputImage, uv + vec2(-o.x, -o.y)), IMG_NORM_PIXEL(inputImage, uv + vec2(o.x, -o.y)),
			IMG_NORM_PIXEL(inputImage, uv + vec2(-o.x, o.y)), IMG_NORM_PIXEL(inputImage, uv + vec2(o.x, o.y)));
	} else {
		// Back to full size: four reads of the half-size picture, radius
		// frame pixels out (half as many of small's), linearly filtered.
		vec2 o = radius / RENDERSIZE;
		vec4 b = fourTaps(
			IMG_NORM_PIXEL(small, uv + vec2(-o.x, -o.y)), IMG_NORM_PIXEL(small, uv + vec2(o.x, -o.y)),
			IMG_NORM_PIXEL(small, uv + vec2(-o.x, o.y)), IMG_NORM_PIXEL(small, uv + vec2(o.x, o.y)));
		gl_FragColor = mix(IMG_THIS_PIXEL(inputImage), b, amount);
	}
}
