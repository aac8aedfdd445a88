/*{
	"DESCRIPTION": "Dip to a colour: the outgoing picture fades to a colour (black by default), then the incoming one fades in from it.",
	"CREDIT": "shadercast",
	"ISFVSN": "2",
	"CATEGORIES": ["Dissolve"],
	"INPUTS": [
		{"NAME": "startImage", "TYPE": "image"},
		{"NAME": "endImage", "TYPE": "image"},
		{"NAME": "progress", "TYPE": "float", "MIN": 0.0, "MAX": 1.0, "DEFAULT": 0.0},
		{"NAME": "color", "LABEL": "Colour", "TYPE": "color", "DEFAULT": [0.0, 0.0, 0.0, 1.0]}
	]
}*/

void main() {
	vec4 a = IMG_NORM_PIXEL(startImage, isf_FragNormCoord);
	vec4 b = IMG_NORM_PIXEL(endImage, isf_FragNormCoord);
	gl_FragColor = progress < 0.5 ? mix(a, color, progress * 2.0) : mix(color, b, progress * 2.0 - 1.0);
}
