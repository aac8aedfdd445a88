package licenses

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// root is the module's root, two folders up.
const root = "../.."

// TestReadmeListsEveryDependency keeps the README's "Licence" section
// true: every Go module built into shadercast's commands (go list -deps
// ./cmd/...: the test helpers, such as internal/livekittest, are not) is listed with the licence its licence file holds, which must
// be compatible with shadercast's; every C library linked through cgo
// (#cgo pkg-config) is listed with an allowed licence; nothing listed is
// gone. A dependency added, removed or relicensed fails it until the
// README says so.
func TestReadmeListsEveryDependency(t *testing.T) {
	goMods, cLibs := readmeTables(t)

	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Dir}}{{end}}{{end}}", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	built := map[string]string{} // module -> licence
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, ok := strings.Cut(line, " ")
		if !ok || built[path] != "" {
			continue
		}
		built[path] = licenceOf(t, path, dir)
	}
	if len(built) < 10 {
		t.Fatalf("go list found %d modules: %q", len(built), out)
	}
	for path, lic := range built {
		if !Allowed[lic] {
			t.Errorf("%s is under %q, which shadercast's licence does not allow", path, lic)
		}
		switch got, ok := goMods[path]; {
		case !ok:
			t.Errorf("README: the Go module %s (%s) is built in but not listed", path, lic)
		case got != lic:
			t.Errorf("README lists %s under %s; its licence file says %s", path, got, lic)
		}
	}
	for path := range goMods {
		if _, ok := built[path]; !ok {
			t.Errorf("README lists the Go module %s, which is no longer built in", path)
		}
	}

	linked := cgoLibraries(t)
	for _, name := range linked {
		lic, ok := cLibs[name]
		switch {
		case !ok:
			t.Errorf("README: the C library %q (#cgo pkg-config) is linked but not listed", name)
		case !Allowed[lic]:
			t.Errorf("README lists the C library %q under %q, which shadercast's licence does not allow", name, lic)
		}
	}
	for name := range cLibs {
		if !contains(linked, name) {
			t.Errorf("README lists the C library %q, which nothing links any more", name)
		}
	}
}

// TestClassify: each licence is told from the others by its own phrases.
func TestClassify(t *testing.T) {
	for want, text := range map[string]string{
		"MIT":               "MIT License\n\nPermission is hereby granted, free of charge, to any person",
		"BSD-3-Clause":      "Redistribution and use in source and binary forms ... Neither the name of Google Inc. nor",
		"BSD-2-Clause":      "Redistribution and use in source and binary forms, with or without\nmodification, are permitted",
		"Apache-2.0":        "Apache License\n  Version 2.0, January 2004",
		"Zlib":              "This software is provided 'as-is', without any express",
		"ISC":               "Permission to use, copy, modify, and/or distribute this software",
		"GPL":               "GNU GENERAL PUBLIC LICENSE Version 2",
		"LGPL-2.1-or-later": "GNU LESSER GENERAL PUBLIC LICENSE Version 2.1",
		"":                  "All rights reserved.",
	} {
		if got := Classify(text); got != want {
			t.Errorf("Classify(%q) = %q, want %q", text, got, want)
		}
	}
	if Allowed["GPL"] || Allowed[""] {
		t.Error("GPL or an unknown licence is allowed")
	}
}

// licenceOf classifies the licence file at the top of a module's folder.
func licenceOf(t *testing.T, path, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, e := range ents {
		n := strings.ToUpper(e.Name())
		if e.IsDir() {
			continue // pion's LICENSES/: SPDX texts, the LICENSE beside it says which applies
		}
		if strings.HasPrefix(n, "LICENSE") || strings.HasPrefix(n, "LICENCE") || strings.HasPrefix(n, "COPYING") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if lic := Classify(string(b)); lic != "" {
				return lic
			}
		}
	}
	t.Errorf("%s: no licence file that names a known licence in %s", path, dir)
	return "unknown"
}

var cgoPkgConfig = regexp.MustCompile(`(?m)^#cgo(?: [^:]*)? pkg-config: (.+)$`)

// cgoLibraries are the pkg-config names the repository's Go files link.
func cgoLibraries(t *testing.T) []string {
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range cgoPkgConfig.FindAllSubmatch(b, -1) {
			for _, name := range strings.Fields(string(m[1])) {
				seen[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("no #cgo pkg-config line found: the search is broken")
	}
	return out
}

// readmeTables reads the two tables of the README's "Licence" section:
// Go modules (| `path` | licence |) and C libraries (| `pkg-config
// name` | project | licence | ... |).
func readmeTables(t *testing.T) (goMods, cLibs map[string]string) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	goMods, cLibs = map[string]string{}, map[string]string{}
	in, table := false, ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.HasPrefix(line, "## Licence")
		case !in:
		case strings.HasPrefix(line, "| Go module"):
			table = "go"
		case strings.HasPrefix(line, "| C library"):
			table = "c"
		case strings.HasPrefix(line, "| `"):
			cells := strings.Split(strings.Trim(line, "| "), "|")
			name := strings.Trim(strings.TrimSpace(cells[0]), "`")
			switch {
			case table == "go" && len(cells) >= 2:
				goMods[name] = strings.TrimSpace(cells[1])
			case table == "c" && len(cells) >= 3:
				cLibs[name] = strings.TrimSpace(cells[2])
			}
		}
	}
	if len(goMods) == 0 || len(cLibs) == 0 {
		t.Fatalf("README has no \"## Licence\" section with its Go module and C library tables (%d, %d rows)", len(goMods), len(cLibs))
	}
	return goMods, cLibs
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
