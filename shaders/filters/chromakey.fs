/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Keys out one colour (green screen): keyed pixels become transparent black",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Keying"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "keyColor", "TYPE": "color", "LABEL": "Key colour", "DEFAULT": [0.0, 1.0, 0.0, 1.0]},
		{"NAME": "threshold", "TYPE": "float", "LABEL": "Threshold", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 1.0},
		{"NAME": "smoothness", "TYPE": "float", "LABEL": "Smoothness", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 0.5}
	]
}*/

// Chroma (Cb, Cr) of BT.709 without the offsets: comparing chroma rather
// than RGB keys the shadows and highlights of the screen alike.
vec2 chroma(vec3 c) {
	float y = dot(c, vec3(0.2126, 0.7152, 0.0722));
	return vec2((c.b - y) / 1.8556, (c.r - y) / 1.5748);
}

void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	float d = distance(chroma(c.rgb), chroma(keyColor.rgb));
	// 0 within threshold of the key, 1 beyond threshold + smoothness.
	float keep = smoothstep(threshold, threshold + smoothness, d);
	// Premultiplied: the I420 output drops alpha, so keyed areas are black.
	gl_FragColor = vec4(c.rgb * keep, c.a * keep);
}
