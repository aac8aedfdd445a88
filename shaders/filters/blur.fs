/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Soft Gaussian blur, computed at half resolution in three cheap passes and blended over the frame",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Blur"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "radius", "TYPE": "float", "LABEL": "Radius (half-res px)", "DEFAULT": 2.0, "MIN": 0.0, "MAX": 8.0},
		{"NAME": "amount", "TYPE": "float", "LABEL": "Amount", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0}
	],
	"PASSES": [
		{"TARGET": "small", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2"},
		{"TARGET": "blurX", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2"},
		{"TARGET": "blurY", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2"},
		{}
	]
}*/

// Why half resolution: on a software renderer every full-size pass costs
// milliseconds, and a blur has no detail to lose. Four passes, three of
// them on a quarter of the pixels, cost about as much as two full ones.

// The 5-tap binomial kernel (1 4 6 4 1)/16 with taps spaced radius apart,
// written out per target: IMG_PIXEL needs the image by name.
void main() {
	vec2 pix = isf_FragNormCoord * RENDERSIZE;
	if (PASSINDEX == 0) {
		// Each half-size pixel centre falls on the corner of four input
		// pixels: linear filtering averages them (a 2x2 box) in one read.
		gl_FragColor = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
	} else if (PASSINDEX == 1) {
		vec2 s = vec2(radius, 0.0);
		gl_FragColor = (IMG_PIXEL(small, pix - 2.0 * s) + 4.0 * IMG_PIXEL(small, pix - s) + 6.0 * IMG_PIXEL(small, pix)
			+ 4.0 * IMG_PIXEL(small, pix + s) + IMG_PIXEL(small, pix + 2.0 * s)) / 16.0;
	} else if (PASSINDEX == 2) {
		vec2 s = vec2(0.0, radius);
		gl_FragColor = (IMG_PIXEL(blurX, pix - 2.0 * s) + 4.0 * IMG_PIXEL(blurX, pix - s) + 6.0 * IMG_PIXEL(blurX, pix)
			+ 4.0 * IMG_PIXEL(blurX, pix + s) + IMG_PIXEL(blurX, pix + 2.0 * s)) / 16.0;
	} else {
		vec4 c = IMG_THIS_PIXEL(inputImage);
		gl_FragColor = mix(c, IMG_NORM_PIXEL(blurY, isf_FragNormCoord), amount);
	}
}
