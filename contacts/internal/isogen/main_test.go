package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	fixture31661 = `{"3166-1": [
		{"alpha_2": "KE", "alpha_3": "KEN", "name": "Kenya", "numeric": "404"},
		{"alpha_2": "ET", "alpha_3": "ETH", "name": "Ethiopia", "numeric": "231"}
	]}`
	fixture31662 = `{"3166-2": [
		{"code": "KE-30", "name": "Nairobi City", "type": "County"},
		{"code": "ET-AM", "name": "Amara", "type": "Regional state"}
	]}`
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "iso_3166-1.json", fixture31661)
	writeFile(t, dir, "iso_3166-2.json", fixture31662)
	writeFile(t, dir, "iso-codes.pc", "Name: iso-codes\nVersion: 9.9.9\n")
	out := filepath.Join(dir, "out.go")
	if err := run([]string{"-json", dir, "-pc", filepath.Join(dir, "iso-codes.pc"), "-o", out}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(src), "\n")
	if !regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`).MatchString(first) || !strings.Contains(first, "iso-codes 9.9.9") {
		t.Errorf("first line %q is not a generated-code marker naming iso-codes 9.9.9", first)
	}
	// Sorted by code, whatever the order of the source.
	for _, want := range []string{
		"const isoCodesVersion = \"9.9.9\"",
		"\t\"ET\": \"Ethiopia\",\n\t\"KE\": \"Kenya\",\n",
		"\t\"ETH\": \"ET\",\n\t\"KEN\": \"KE\",\n",
		"\t\"ET-AM\": \"Amara\",\n\t\"KE-30\": \"Nairobi City\",\n",
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("output lacks %q:\n%s", want, src)
		}
	}

	if err := run([]string{"-json", dir, "-pc", filepath.Join(dir, "missing.pc"), "-o", out}, os.Stderr); err == nil {
		t.Error("no error without a version")
	}
	if err := run([]string{"-json", dir, "-pc", filepath.Join(dir, "missing.pc"), "-version", "1.0", "-o", out}, os.Stderr); err != nil {
		t.Errorf("-version did not replace the pkg-config file: %v", err)
	}
}

func TestLoadRefusesInconsistentData(t *testing.T) {
	t.Parallel()
	tests := map[string][2]string{
		"subdivision of an unknown country": {fixture31661, `{"3166-2": [{"code": "XX-01", "name": "Nowhere"}]}`},
		"duplicate country":                 {`{"3166-1": [{"alpha_2": "KE", "alpha_3": "KEN", "name": "Kenya"}, {"alpha_2": "KE", "alpha_3": "KEX", "name": "Kenya"}]}`, fixture31662},
		"malformed subdivision code":        {fixture31661, `{"3166-2": [{"code": "KE_30", "name": "Nairobi"}]}`},
		"duplicate subdivision":             {fixture31661, `{"3166-2": [{"code": "KE-30", "name": "A"}, {"code": "KE-30", "name": "B"}]}`},
		"no subdivisions":                   {fixture31661, `{"3166-2": []}`},
		"not JSON":                          {fixture31661, `<xml/>`},
	}
	for name, files := range tests {
		dir := t.TempDir()
		writeFile(t, dir, "iso_3166-1.json", files[0])
		writeFile(t, dir, "iso_3166-2.json", files[1])
		if _, _, err := load(dir); err == nil {
			t.Errorf("%s: load returned no error", name)
		}
	}
}

// TestCommittedFileIsCurrent regenerates the committed tables from this
// machine's iso-codes, when it has the same release, and expects the same
// bytes: the file must only ever change by regeneration.
func TestCommittedFileIsCurrent(t *testing.T) {
	t.Parallel()
	const jsonDir, pc = "/usr/share/iso-codes/json", "/usr/share/pkgconfig/iso-codes.pc"
	committed, err := os.ReadFile("../../iso3166_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	version, err := readPCVersion(pc)
	if err != nil {
		t.Skipf("iso-codes is not installed: %v", err)
	}
	if !bytes.Contains(committed, []byte("const isoCodesVersion = \""+version+"\"")) {
		t.Skipf("installed iso-codes %s is not the release the committed file was made from", version)
	}
	countries, subdivisions, err := load(jsonDir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := generate(version, countries, subdivisions)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, committed) {
		t.Error("iso3166_gen.go differs from what isogen generates; run go generate ./contacts")
	}
}
