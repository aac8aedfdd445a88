/*{
	"DESCRIPTION": "Slow coloured waves for a studio backdrop; they swell with the programme's sound.",
	"CREDIT": "shadercast example",
	"ISFVSN": "2",
	"CATEGORIES": ["Generator"],
	"INPUTS": [
		{"NAME": "speed", "LABEL": "Speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0},
		{"NAME": "tint", "LABEL": "Tint", "TYPE": "color", "DEFAULT": [0.15, 0.35, 0.6, 1.0]},
		{"NAME": "fft", "TYPE": "audioFFT"}
	]
}*/

void main() {
	vec2 p = isf_FragNormCoord;
	// The low end of the spectrum (the first 16 bins, up to 375 Hz).
	float level = 0.0;
	for (int i = 0; i < 16; i++) {
		level = max(level, IMG_PIXEL(fft, vec2(float(i) + 0.5, 0.5)).r);
	}
	float t = TIME * speed;
	float w = sin(p.x * 6.0 + t) * 0.5 + sin(p.y * 9.0 - t * 1.3) * 0.3 + sin((p.x + p.y) * 4.0 + t * 0.7) * 0.2;
	vec3 c = tint.rgb * (0.6 + 0.4 * w) + vec3(0.25) * level;
	gl_FragColor = vec4(c, 1.0);
}
