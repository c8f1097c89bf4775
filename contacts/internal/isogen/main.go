// Command isogen writes contacts/iso3166_gen.go: the ISO 3166-1 countries and
// ISO 3166-2 subdivisions that package contacts validates against, taken from
// Debian's iso-codes data. The tables are committed, so building Waymark never
// needs iso-codes installed; rerun this after upgrading iso-codes.
//
// Usage, from the contacts folder:
//
//	go run ./internal/isogen [-json DIR] [-pc FILE] [-version V] [-o FILE]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "isogen:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("isogen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonDir := fs.String("json", "/usr/share/iso-codes/json", "folder holding iso-codes' iso_3166-1.json and iso_3166-2.json")
	pcFile := fs.String("pc", "/usr/share/pkgconfig/iso-codes.pc", "iso-codes' pkg-config file, read for the version (the JSON files do not carry it)")
	version := fs.String("version", "", "iso-codes version to record, instead of reading it from -pc")
	out := fs.String("o", "iso3166_gen.go", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" {
		v, err := readPCVersion(*pcFile)
		if err != nil {
			return fmt.Errorf("%w (or pass -version)", err)
		}
		*version = v
	}
	countries, subdivisions, err := load(*jsonDir)
	if err != nil {
		return err
	}
	src, err := generate(*version, countries, subdivisions)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, src, 0o644)
}

// country is one entry of iso_3166-1.json; other fields are ignored.
type country struct {
	Alpha2 string `json:"alpha_2"`
	Alpha3 string `json:"alpha_3"`
	Name   string `json:"name"`
}

// subdivision is one entry of iso_3166-2.json; other fields are ignored.
type subdivision struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

var (
	alpha2Pattern      = regexp.MustCompile(`^[A-Z]{2}$`)
	alpha3Pattern      = regexp.MustCompile(`^[A-Z]{3}$`)
	subdivisionPattern = regexp.MustCompile(`^([A-Z]{2})-[A-Z0-9]{1,3}$`)
)

// load reads both files and checks what the generated code relies on: codes
// of the expected shapes, no duplicates, and every subdivision under a known
// country, since its country is implied by the code's prefix.
func load(dir string) ([]country, []subdivision, error) {
	var c struct {
		Entries []country `json:"3166-1"`
	}
	if err := readJSON(dir+"/iso_3166-1.json", &c); err != nil {
		return nil, nil, err
	}
	var s struct {
		Entries []subdivision `json:"3166-2"`
	}
	if err := readJSON(dir+"/iso_3166-2.json", &s); err != nil {
		return nil, nil, err
	}

	alpha2 := make(map[string]bool, len(c.Entries))
	alpha3 := make(map[string]bool, len(c.Entries))
	for _, e := range c.Entries {
		if !alpha2Pattern.MatchString(e.Alpha2) || !alpha3Pattern.MatchString(e.Alpha3) || e.Name == "" {
			return nil, nil, fmt.Errorf("iso_3166-1.json: unexpected entry %+v", e)
		}
		if alpha2[e.Alpha2] || alpha3[e.Alpha3] {
			return nil, nil, fmt.Errorf("iso_3166-1.json: duplicate entry %+v", e)
		}
		alpha2[e.Alpha2], alpha3[e.Alpha3] = true, true
	}
	seen := make(map[string]bool, len(s.Entries))
	for _, e := range s.Entries {
		m := subdivisionPattern.FindStringSubmatch(e.Code)
		if m == nil || e.Name == "" {
			return nil, nil, fmt.Errorf("iso_3166-2.json: unexpected entry %+v", e)
		}
		if !alpha2[m[1]] {
			return nil, nil, fmt.Errorf("iso_3166-2.json: %s is under unknown country %s", e.Code, m[1])
		}
		if seen[e.Code] {
			return nil, nil, fmt.Errorf("iso_3166-2.json: duplicate code %s", e.Code)
		}
		seen[e.Code] = true
	}
	if len(c.Entries) == 0 || len(s.Entries) == 0 {
		return nil, nil, errors.New("no entries found")
	}
	return c.Entries, s.Entries, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readPCVersion reads the Version line of a pkg-config file.
func readPCVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Version:"); ok {
			if v = strings.TrimSpace(v); v != "" {
				return v, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no Version line", path)
}

// generate renders the Go file. Entries are sorted by code and written one
// per line, so that an iso-codes upgrade shows up as a readable diff.
func generate(version string, countries []country, subdivisions []subdivision) ([]byte, error) {
	countries = slices.Clone(countries)
	slices.SortFunc(countries, func(a, b country) int { return strings.Compare(a.Alpha2, b.Alpha2) })
	subdivisions = slices.Clone(subdivisions)
	slices.SortFunc(subdivisions, func(a, b subdivision) int { return strings.Compare(a.Code, b.Code) })

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/isogen from Debian iso-codes %s; DO NOT EDIT.\n\n", version)
	b.WriteString("package contacts\n\n")
	b.WriteString("// isoCodesVersion is the release of Debian's iso-codes these tables come from.\n")
	fmt.Fprintf(&b, "const isoCodesVersion = %q\n\n", version)

	b.WriteString("// countryNames maps each ISO 3166-1 alpha-2 code to the country's ISO short name.\n")
	b.WriteString("var countryNames = map[string]string{\n")
	for _, c := range countries {
		fmt.Fprintf(&b, "%q: %q,\n", c.Alpha2, c.Name)
	}
	b.WriteString("}\n\n")

	alpha3 := slices.Clone(countries)
	slices.SortFunc(alpha3, func(a, b country) int { return strings.Compare(a.Alpha3, b.Alpha3) })
	b.WriteString("// alpha3ToAlpha2 maps each ISO 3166-1 alpha-3 code to its alpha-2 code.\n")
	b.WriteString("var alpha3ToAlpha2 = map[string]string{\n")
	for _, c := range alpha3 {
		fmt.Fprintf(&b, "%q: %q,\n", c.Alpha3, c.Alpha2)
	}
	b.WriteString("}\n\n")

	b.WriteString("// subdivisionNames maps each ISO 3166-2 code to the subdivision's name; the\n")
	b.WriteString("// country is the code's prefix before the hyphen.\n")
	b.WriteString("var subdivisionNames = map[string]string{\n")
	for _, s := range subdivisions {
		fmt.Fprintf(&b, "%q: %q,\n", s.Code, s.Name)
	}
	b.WriteString("}\n")

	return format.Source(b.Bytes())
}
