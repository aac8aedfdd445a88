/*{
	"DESCRIPTION": "Mosaic: averages each cell's corners and centre, in the style of the classic ISF pixellate filter",
	"CREDIT": "shadercast (written for the tests in the style of published ISF filters)",
	"ISFVSN": "2",
	"CATEGORIES": [
		"Stylize"
	],
	"INPUTS": [
		{
			"NAME": "inputImage",
			"TYPE": "image"
		},
		{
			"NAME": "cell_size",
			"TYPE": "float",
			"MIN": 0.0,
			"MAX": 0.5,
			"DEFAULT": 0.25
		},
		{
			"NAME": "shape",
			"TYPE": "long",
			"VALUES": [
				0,
				1
			],
			"LABELS": [
				"Square",
				"Rectangle"
			],
			"DEFAULT": 1
		}
	]
}*/

#ifdef GL_ES
precision mediump float;
#endif

#ifndef GL_ES
float distance (vec2 a, vec2 b)
{
	float d = pow(a.x-b.x,2.0)+pow(a.y-b.y,2.0);
	return pow(d,0.5);
}
#endif

varying vec2 unusedVarying;

void main()
{
	if (cell_size == 0.0)	{
		gl_FragColor = IMG_THIS_PIXEL(inputImage);
		return;
	}
	vec2 xy = isf_FragNormCoord.xy;
	float cw = cell_size;
	float ch = cell_size;
	if (shape == 0)	{
		ch = cell_size * RENDERSIZE.x / RENDERSIZE.y;
	}
	//	the cell's corners
	float x1 = floor(xy.x / cw) * cw;
	float y1 = floor(xy.y / ch) * ch;
	vec4 c00 = texture2D(inputImage, vec2(x1, y1) + 0.5 / RENDERSIZE);
	vec4 c10 = texture2D(inputImage, vec2(x1 + cw, y1) - vec2(0.5, -0.5) / RENDERSIZE);
	vec4 c01 = texture2D(inputImage, vec2(x1, y1 + ch) + vec2(0.5, -0.5) / RENDERSIZE);
	vec4 centre = IMG_NORM_PIXEL(inputImage, vec2(x1, y1) + vec2(cw, ch) / 2.0);
	gl_FragColor = (c00 + c10 + c01 + centre) / 4.0;
	if (distance(xy, xy) > 0.5)
		gl_FragColor = vec4(1.0, 0.0, 1.0, 1.0);
}
