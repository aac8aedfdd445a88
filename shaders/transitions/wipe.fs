/*{
	"DESCRIPTION": "Wipe: the incoming picture slides in over the outgoing one behind a soft edge, in a direction of your choice.",
	"CREDIT": "shadercast",
	"ISFVSN": "2",
	"CATEGORIES": ["Wipe"],
	"INPUTS": [
		{"NAME": "startImage", "TYPE": "image"},
		{"NAME": "endImage", "TYPE": "image"},
		{"NAME": "progress", "TYPE": "float", "MIN": 0.0, "MAX": 1.0, "DEFAULT": 0.0},
		{"NAME": "angle", "LABEL": "Direction (degrees anticlockwise: 0 left to right, 90 bottom to top)", "TYPE": "float", "MIN": 0.0, "MAX": 360.0, "DEFAULT": 0.0},
		{"NAME": "softness", "LABEL": "Edge softness", "TYPE": "float", "MIN": 0.0, "MAX": 0.5, "DEFAULT": 0.05}
	]
}*/

void main() {
	vec2 dir = vec2(cos(radians(angle)), sin(radians(angle)));
	// Where this pixel lies along the wipe, 0 at the side it starts from, 1
	// at the far side, over the whole frame whatever the direction.
	vec2 p = isf_FragNormCoord - 0.5;
	float reach = 0.5 * (abs(dir.x) + abs(dir.y));
	float along = dot(p, dir) / (2.0 * reach) + 0.5;
	// The edge runs from before the start to past the end, so that 0 and 1
	// show one picture whole.
	float edge = progress * (1.0 + softness) - softness;
	float t = 1.0 - smoothstep(edge, edge + softness, along);
	gl_FragColor = mix(IMG_NORM_PIXEL(startImage, isf_FragNormCoord), IMG_NORM_PIXEL(endImage, isf_FragNormCoord), t);
}
