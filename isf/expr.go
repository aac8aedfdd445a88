package isf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Expr is a parsed WIDTH/HEIGHT expression of a pass: numbers, variables
// ($WIDTH, $HEIGHT, $input), + - * / %, unary minus, parentheses,
// comparisons and the functions the reference evaluator knows that make
// sense for sizes. It is evaluated every frame, so it is parsed once.
type Expr struct {
	src  string
	root *node
	vars []string
}

type node struct {
	op   byte // 'n' number, 'v' variable, 'f' function, 'u' unary minus, or a binary operator ('<','>','l' <=, 'g' >=, '=' ==, '!' !=)
	num  float64
	name string
	args []*node
	// height is 1 for a leaf, else 1 + the tallest argument's: the
	// evaluator's recursion depth below this node.
	height int
}

// Bounds on an expression, so that a hostile WIDTH cannot overflow the
// parser's or the evaluator's stack (a few thousand nested parentheses
// did: fatal, unrecoverable) or cost much per frame. Real size
// expressions are a few terms ("floor($WIDTH/8.0)").
const (
	// MaxExprLen is the longest expression source, in bytes.
	MaxExprLen = 4096
	// MaxExprDepth bounds nesting: parentheses, unary signs, function
	// calls and chains of operators all count.
	MaxExprDepth = 64
)

// exprFuncs are the functions an expression may call, with their arity
// (-1: one or more).
var exprFuncs = map[string]int{
	"floor": 1, "ceil": 1, "round": 1, "abs": 1, "sqrt": 1, "trunc": 1,
	"log": 1, "log2": 1, "log10": 1, "exp": 1, "sin": 1, "cos": 1, "tan": 1,
	"pow": 2, "mod": 2, "min": -1, "max": -1, "clamp": 3,
}

// ParseExpr parses an expression. Variables are written $NAME. Sources
// over MaxExprLen bytes and trees deeper than MaxExprDepth are refused.
func ParseExpr(src string) (*Expr, error) {
	if len(src) > MaxExprLen {
		return nil, fmt.Errorf("expression of %d bytes: at most %d", len(src), MaxExprLen)
	}
	p := &exprParser{src: src}
	p.next()
	root, err := p.parseCompare()
	if err != nil {
		return nil, err
	}
	if p.tok != "" {
		return nil, p.errorf("unexpected %q", p.tok)
	}
	e := &Expr{src: src, root: root}
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.op == 'v' && !seen[n.name] {
			seen[n.name] = true
			e.vars = append(e.vars, n.name)
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(root)
	return e, nil
}

// String returns the source text.
func (e *Expr) String() string { return e.src }

// Vars lists the variables the expression reads, without the $.
func (e *Expr) Vars() []string { return e.vars }

// Eval evaluates the expression; a variable missing from vars is an error.
func (e *Expr) Eval(vars map[string]float64) (float64, error) {
	if e == nil || e.root == nil {
		return 0, fmt.Errorf("empty expression")
	}
	v, err := eval(e.root, vars, 0)
	if err != nil {
		return 0, fmt.Errorf("expression %q: %w", clipExpr(e.src), err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("expression %q is not a finite number (%v)", clipExpr(e.src), v)
	}
	return v, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// eval evaluates n at recursion depth depth; the parser bounds the tree's
// height, and the evaluator checks again rather than trust its caller.
func eval(n *node, vars map[string]float64, depth int) (float64, error) {
	if depth > MaxExprDepth {
		return 0, fmt.Errorf("nested more than %d deep", MaxExprDepth)
	}
	switch n.op {
	case 'n':
		return n.num, nil
	case 'v':
		v, ok := vars[n.name]
		if !ok {
			return 0, fmt.Errorf("unknown variable $%s", n.name)
		}
		return v, nil
	}
	args := make([]float64, len(n.args))
	for i, a := range n.args {
		v, err := eval(a, vars, depth+1)
		if err != nil {
			return 0, err
		}
		args[i] = v
	}
	switch n.op {
	case 'u':
		return -args[0], nil
	case '+':
		return args[0] + args[1], nil
	case '-':
		return args[0] - args[1], nil
	case '*':
		return args[0] * args[1], nil
	case '/':
		return args[0] / args[1], nil
	case '%':
		return math.Mod(args[0], args[1]), nil
	case '<':
		return b2f(args[0] < args[1]), nil
	case '>':
		return b2f(args[0] > args[1]), nil
	case 'l':
		return b2f(args[0] <= args[1]), nil
	case 'g':
		return b2f(args[0] >= args[1]), nil
	case '=':
		return b2f(args[0] == args[1]), nil
	case '!':
		return b2f(args[0] != args[1]), nil
	case 'f':
		a := args
		switch n.name {
		case "floor":
			return math.Floor(a[0]), nil
		case "ceil":
			return math.Ceil(a[0]), nil
		case "round":
			return math.Round(a[0]), nil
		case "trunc":
			return math.Trunc(a[0]), nil
		case "abs":
			return math.Abs(a[0]), nil
		case "sqrt":
			return math.Sqrt(a[0]), nil
		case "log":
			return math.Log(a[0]), nil
		case "log2":
			return math.Log2(a[0]), nil
		case "log10":
			return math.Log10(a[0]), nil
		case "exp":
			return math.Exp(a[0]), nil
		case "sin":
			return math.Sin(a[0]), nil
		case "cos":
			return math.Cos(a[0]), nil
		case "tan":
			return math.Tan(a[0]), nil
		case "pow":
			return math.Pow(a[0], a[1]), nil
		case "mod":
			return math.Mod(a[0], a[1]), nil
		case "clamp":
			return math.Max(a[1], math.Min(a[2], a[0])), nil
		case "min", "max":
			r := a[0]
			for _, x := range a[1:] {
				if n.name == "min" {
					r = math.Min(r, x)
				} else {
					r = math.Max(r, x)
				}
			}
			return r, nil
		}
	}
	return 0, fmt.Errorf("bad expression node %q", n.op)
}

type exprParser struct {
	src    string
	pos    int
	tok    string // "" at the end
	tokPos int
	depth  int // parseUnary calls under way: the parser's own recursion
}

// mk makes an operator or function node, refusing a tree taller than
// MaxExprDepth (left-leaning chains such as 1+1+...+1 grow the tree
// without growing the parser's recursion).
func (p *exprParser) mk(op byte, name string, args ...*node) (*node, error) {
	n := &node{op: op, name: name, args: args, height: 1}
	for _, a := range args {
		n.height = max(n.height, a.height+1)
	}
	if n.height > MaxExprDepth {
		return nil, p.errorf("nested more than %d deep", MaxExprDepth)
	}
	return n, nil
}

func (p *exprParser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	p.tokPos = p.pos
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	c := p.src[p.pos]
	start := p.pos
	switch {
	case c >= '0' && c <= '9' || c == '.':
		for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || p.src[p.pos] == '.') {
			p.pos++
		}
		if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
			q := p.pos + 1
			if q < len(p.src) && (p.src[q] == '+' || p.src[q] == '-') {
				q++
			}
			if q < len(p.src) && isDigit(p.src[q]) {
				for q < len(p.src) && isDigit(p.src[q]) {
					q++
				}
				p.pos = q
			}
		}
	case c == '$' || isIdent(c):
		p.pos++
		for p.pos < len(p.src) && (isIdent(p.src[p.pos]) || isDigit(p.src[p.pos])) {
			p.pos++
		}
	case strings.ContainsRune("<>=!", rune(c)) && p.pos+1 < len(p.src) && p.src[p.pos+1] == '=':
		p.pos += 2
	default:
		p.pos++
	}
	p.tok = p.src[start:p.pos]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *exprParser) errorf(format string, a ...any) error {
	return fmt.Errorf("expression %q: %s at offset %d", clipExpr(p.src), fmt.Sprintf(format, a...), p.tokPos)
}

// clipExpr keeps messages about a long (hostile) expression short.
func clipExpr(s string) string {
	if len(s) > 80 {
		return s[:60] + "..." + s[len(s)-16:]
	}
	return s
}

var compareOps = map[string]byte{"<": '<', ">": '>', "<=": 'l', ">=": 'g', "==": '=', "!=": '!'}

func (p *exprParser) parseCompare() (*node, error) {
	l, err := p.parseSum()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := compareOps[p.tok]
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseSum()
		if err != nil {
			return nil, err
		}
		if l, err = p.mk(op, "", l, r); err != nil {
			return nil, err
		}
	}
}

func (p *exprParser) parseSum() (*node, error) {
	l, err := p.parseProduct()
	if err != nil {
		return nil, err
	}
	for p.tok == "+" || p.tok == "-" {
		op := p.tok[0]
		p.next()
		r, err := p.parseProduct()
		if err != nil {
			return nil, err
		}
		if l, err = p.mk(op, "", l, r); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (p *exprParser) parseProduct() (*node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.tok == "*" || p.tok == "/" || p.tok == "%" {
		op := p.tok[0]
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if l, err = p.mk(op, "", l, r); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// parseUnary is where every nesting (parentheses, signs, function
// arguments) passes, so it bounds the parser's recursion.
func (p *exprParser) parseUnary() (*node, error) {
	if p.depth++; p.depth > MaxExprDepth {
		return nil, p.errorf("nested more than %d deep", MaxExprDepth)
	}
	defer func() { p.depth-- }()
	switch p.tok {
	case "-":
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return p.mk('u', "", x)
	case "+":
		p.next()
		return p.parseUnary()
	}
	return p.parsePrimary()
}

func (p *exprParser) parsePrimary() (*node, error) {
	t := p.tok
	switch {
	case t == "":
		return nil, p.errorf("unexpected end")
	case t == "(":
		p.next()
		x, err := p.parseCompare()
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, p.errorf("missing )")
		}
		p.next()
		return x, nil
	case isDigit(t[0]) || t[0] == '.':
		v, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, p.errorf("bad number %q", t)
		}
		p.next()
		return &node{op: 'n', num: v, height: 1}, nil
	case t[0] == '$':
		if len(t) == 1 {
			return nil, p.errorf("$ without a name")
		}
		p.next()
		return &node{op: 'v', name: t[1:], height: 1}, nil
	case isIdent(t[0]):
		arity, ok := exprFuncs[t]
		if !ok {
			return nil, p.errorf("unknown function or name %q (variables start with $)", t)
		}
		p.next()
		if p.tok != "(" {
			return nil, p.errorf("%s needs (", t)
		}
		p.next()
		var args []*node
		for {
			a, err := p.parseCompare()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.tok == "," {
				p.next()
				continue
			}
			if p.tok != ")" {
				return nil, p.errorf("missing ) after arguments of %s", t)
			}
			p.next()
			break
		}
		if arity >= 0 && len(args) != arity || arity < 0 && len(args) < 1 {
			return nil, p.errorf("%s takes %d arguments, not %d", t, arity, len(args))
		}
		return p.mk('f', t, args...)
	}
	return nil, p.errorf("unexpected %q", t)
}
