/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Exposure, contrast, saturation and a look (neutral, warm, cool)",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Color Adjustment"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "exposure", "TYPE": "float", "LABEL": "Exposure (stops)", "DEFAULT": 0.0, "MIN": -2.0, "MAX": 2.0},
		{"NAME": "contrast", "TYPE": "float", "LABEL": "Contrast", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0},
		{"NAME": "saturation", "TYPE": "float", "LABEL": "Saturation", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0},
		{"NAME": "look", "TYPE": "long", "LABEL": "Look", "DEFAULT": 0, "VALUES": [0, 1, 2], "LABELS": ["Neutral", "Warm", "Cool"]}
	]
}*/

void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	vec3 rgb = c.rgb * exp2(exposure);
	// Contrast pivots on mid grey so that it does not shift brightness.
	rgb = (rgb - 0.5) * contrast + 0.5;
	float luma = dot(rgb, vec3(0.2126, 0.7152, 0.0722));
	rgb = mix(vec3(luma), rgb, saturation);
	if (look == 1) {
		rgb *= vec3(1.08, 1.0, 0.88);
	} else if (look == 2) {
		rgb *= vec3(0.88, 1.0, 1.08);
	}
	gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), c.a);
}
