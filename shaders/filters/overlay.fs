/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Puts a logo (an image shipped beside the shader) over the frame",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Composite"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "position", "TYPE": "point2D", "LABEL": "Position", "DEFAULT": [0.88, 0.85], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0]},
		{"NAME": "size", "TYPE": "float", "LABEL": "Height (share of frame)", "DEFAULT": 0.2, "MIN": 0.02, "MAX": 1.0},
		{"NAME": "opacity", "TYPE": "float", "LABEL": "Opacity", "DEFAULT": 0.85, "MIN": 0.0, "MAX": 1.0}
	],
	"IMPORTED": {
		"logo": {"PATH": "overlay-logo.png"}
	}
}*/

// IMPORTED images are loaded once from files beside the shader (never from
// outside its folder) and sampled like any image input.
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	// The logo keeps its aspect ratio; position is its centre.
	vec2 logoSize = vec2(IMG_SIZE(logo).x / IMG_SIZE(logo).y, 1.0) * size * RENDERSIZE.y;
	vec2 uv = (isf_FragNormCoord * RENDERSIZE - (position * RENDERSIZE - 0.5 * logoSize)) / logoSize;
	if (all(greaterThanEqual(uv, vec2(0.0))) && all(lessThan(uv, vec2(1.0)))) {
		vec4 l = IMG_NORM_PIXEL(logo, uv);
		c.rgb = mix(c.rgb, l.rgb, l.a * opacity);
	}
	gl_FragColor = c;
}
