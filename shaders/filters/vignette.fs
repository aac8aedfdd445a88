/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Darkens the frame towards its edges, around a movable centre",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Stylize"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "amount", "TYPE": "float", "LABEL": "Amount", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0},
		{"NAME": "radius", "TYPE": "float", "LABEL": "Radius", "DEFAULT": 0.75, "MIN": 0.05, "MAX": 2.0},
		{"NAME": "center", "TYPE": "point2D", "LABEL": "Centre", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0]}
	]
}*/

// Distances are measured in units of the frame's height, so the vignette
// stays round on any aspect ratio: a radius of 1 reaches the top edge from
// the centre twice over.
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	vec2 d = (isf_FragNormCoord - center) * vec2(RENDERSIZE.x / RENDERSIZE.y, 1.0);
	// Full brightness inside half the radius, fading to (1 - amount) at
	// the radius and beyond.
	float fade = smoothstep(radius * 0.5, radius, length(d));
	gl_FragColor = vec4(c.rgb * (1.0 - amount * fade), c.a);
}
