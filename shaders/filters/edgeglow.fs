/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Adds a coloured glow on edges found with a 3x3 Sobel filter on luma",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Stylize"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "glowColor", "TYPE": "color", "LABEL": "Glow colour", "DEFAULT": [0.0, 1.0, 1.0, 1.0]},
		{"NAME": "strength", "TYPE": "float", "LABEL": "Strength", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0}
	]
}*/

float lumaAt(vec2 pix) {
	// IMG_PIXEL at pixel centres reads exact texels; outside the frame
	// it clamps to the edge pixel.
	return dot(IMG_PIXEL(inputImage, pix).rgb, vec3(0.2126, 0.7152, 0.0722));
}

void main() {
	vec2 p = isf_FragNormCoord * RENDERSIZE;
	float tl = lumaAt(p + vec2(-1.0, 1.0)), t = lumaAt(p + vec2(0.0, 1.0)), tr = lumaAt(p + vec2(1.0, 1.0));
	float l = lumaAt(p + vec2(-1.0, 0.0)), r = lumaAt(p + vec2(1.0, 0.0));
	float bl = lumaAt(p + vec2(-1.0, -1.0)), b = lumaAt(p + vec2(0.0, -1.0)), br = lumaAt(p + vec2(1.0, -1.0));
	float gx = (tr + 2.0 * r + br) - (tl + 2.0 * l + bl);
	float gy = (tl + 2.0 * t + tr) - (bl + 2.0 * b + br);
	float edge = clamp(length(vec2(gx, gy)) * strength, 0.0, 1.0);
	vec4 c = IMG_THIS_PIXEL(inputImage);
	gl_FragColor = vec4(clamp(c.rgb + glowColor.rgb * edge, 0.0, 1.0), c.a);
}
